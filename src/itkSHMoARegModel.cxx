/*=========================================================================
 *
 *  Copyright NumFOCUS
 *
 *  Licensed under the Apache License, Version 2.0 (the "License");
 *  you may not use this file except in compliance with the License.
 *  You may obtain a copy of the License at
 *
 *         http://www.apache.org/licenses/LICENSE-2.0.txt
 *
 *  Unless required by applicable law or agreed to in writing, software
 *  distributed under the License is distributed on an "AS IS" BASIS,
 *  WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 *  See the License for the specific language governing permissions and
 *  limitations under the License.
 *
 *=========================================================================*/
#include "itkSHMoARegModel.h"

#include "Checkpoint.h"
#include "Device.h"
#include "ErrorMessage.h"
#include "ImageTensorBridge.h"
#include "InstanceOptimization.h"
#include "Losses.h"
#include "MultiLevelRefinement.h"
#include "RegistrationNetwork.h"

#include <torch/version.h>

#include <chrono>
#include <cmath>
#include <map>
#include <mutex>
#include <sstream>

namespace itk {
namespace {
// Every pooling of the presets halves a grid of at least 2 voxels per axis (smaller grids are
// padded from there).
constexpr SizeValueType kSmallestNetworkGrid = 2;

// Why a pair cannot go through the network (empty when it can); `call` names the method.
std::string
networkPairProblem(bool loaded,
                   const SHMoARegModel::NetworkImageType * fixed,
                   const SHMoARegModel::NetworkImageType * moving,
                   const char * call)
{
  std::ostringstream problem;
  if (!loaded)
  {
    problem << "no network: load a model file or create a preset before " << call;
  }
  else if (fixed == nullptr || moving == nullptr)
  {
    problem << call << " needs a fixed and a moving image";
  }
  else if (fixed->GetLargestPossibleRegion().GetNumberOfPixels() == 0)
  {
    problem << call << " needs non-empty images";
  }
  else if (fixed->GetLargestPossibleRegion() != moving->GetLargestPossibleRegion())
  {
    problem << "fixed and moving images must share the network grid: sizes "
            << fixed->GetLargestPossibleRegion().GetSize() << " and " << moving->GetLargestPossibleRegion().GetSize();
  }
  else
  {
    const auto size = fixed->GetLargestPossibleRegion().GetSize();
    if (size[0] < kSmallestNetworkGrid || size[1] < kSmallestNetworkGrid || size[2] < kSmallestNetworkGrid)
    {
      problem << "the network grid " << size[0] << " x " << size[1] << " x " << size[2]
              << " is smaller than the smallest grid this model accepts, " << kSmallestNetworkGrid
              << "^3 (an image a few network voxels across is too small to register)";
    }
  }
  return problem.str();
}
} // namespace

struct SHMoARegModel::Implementation
{
  shmoareg::RegistrationNetwork network{ nullptr };
  std::string provenance{ "{}" };
  shmoareg::TrainingGrid trainingGrid; // read from the provenance by the checkpoint reader
  std::string deviceName{ "auto" };
  torch::Device device{ torch::kCPU };
  // Copies of the network on devices other than `device`, made on first use by a prediction
  // that names one: predictions on a shared model never move its network.
  std::mutex copiesMutex;
  std::map<std::string, shmoareg::RegistrationNetwork> copies;
  // TrainStep's Adam state, made on its first step; a new network or device starts it again.
  std::unique_ptr<torch::optim::Adam> optimizer;

  // The device a prediction runs on: `name`, or the model's own when empty.
  torch::Device
  predictionDevice(const std::string & name) const
  {
    return name.empty() ? device : shmoareg::resolveDevice(name);
  }

  // The network on `target`: the model's own, or its copy there.
  shmoareg::RegistrationNetwork
  networkOn(const torch::Device & target)
  {
    if (target == device)
      return network;
    std::lock_guard<std::mutex> lock(copiesMutex);
    auto found = copies.find(target.str());
    if (found != copies.end())
      return found->second;
    std::stringstream weights;
    {
      torch::serialize::OutputArchive archive;
      network->save(archive);
      archive.save_to(weights);
    }
    shmoareg::RegistrationNetwork copy(network->config());
    torch::serialize::InputArchive archive;
    archive.load_from(weights, target);
    copy->load(archive);
    copy->to(target);
    copy->eval();
    return copies.emplace(target.str(), copy).first->second;
  }
  // After the network or its weights change: copies on other devices and the optimiser state
  // describe the old ones.
  void
  forgetCopies()
  {
    std::lock_guard<std::mutex> lock(copiesMutex);
    copies.clear();
    optimizer.reset();
  }
};

SHMoARegModel::SHMoARegModel()
  : m_Implementation(std::make_unique<Implementation>())
{
  m_Implementation->device = shmoareg::resolveDevice("auto");
}

SHMoARegModel::~SHMoARegModel() = default;

std::string
SHMoARegModel::GetBackendDescription()
{
  std::ostringstream description;
  description << "LibTorch " << TORCH_VERSION << ", CUDA "
              << (torch::cuda::is_available()
                    ? "available (" + std::to_string(torch::cuda::device_count()) + " devices)"
                    : std::string("not available"))
              << ", model format " << shmoareg::kCheckpointFormatVersion;
  return description.str();
}

std::vector<std::string>
SHMoARegModel::GetPresetNames()
{
  return shmoareg::presetNames();
}

void
SHMoARegModel::CreateFromPreset(const std::string & presetName, unsigned int seed)
{
  try
  {
    torch::manual_seed(seed);
    m_Implementation->network = shmoareg::RegistrationNetwork(shmoareg::makePreset(presetName));
  }
  catch (const std::exception & error)
  {
    itkExceptionMacro(<< shmoareg::messageWithoutTrace(error));
  }
  m_Implementation->provenance = "{\"source\": \"untrained preset\", \"seed\": " + std::to_string(seed) + "}";
  m_Implementation->trainingGrid = shmoareg::TrainingGrid();
  m_Implementation->forgetCopies();
  m_Implementation->network->to(m_Implementation->device);
  m_Implementation->network->eval();
  this->Modified();
}

void
SHMoARegModel::LoadFromFile(const std::string & fileName)
{
  try
  {
    shmoareg::LoadedModel loaded = shmoareg::loadCheckpoint(fileName);
    m_Implementation->network = loaded.network;
    m_Implementation->provenance = loaded.provenance;
    m_Implementation->trainingGrid = loaded.trainingGrid;
    m_Implementation->forgetCopies();
  }
  catch (const std::exception & error)
  {
    itkExceptionMacro(<< shmoareg::messageWithoutTrace(error));
  }
  m_Implementation->network->to(m_Implementation->device);
  m_Implementation->network->eval();
  this->Modified();
}

void
SHMoARegModel::SaveToFile(const std::string & fileName) const
{
  if (!this->IsLoaded())
  {
    itkExceptionMacro(<< "no network to save: load a model file or create a preset first");
  }
  try
  {
    shmoareg::saveCheckpoint(fileName, m_Implementation->network, m_Implementation->provenance);
  }
  catch (const std::exception & error)
  {
    itkExceptionMacro(<< shmoareg::messageWithoutTrace(error));
  }
}

bool
SHMoARegModel::IsLoaded() const
{
  return !m_Implementation->network.is_empty();
}

std::string
SHMoARegModel::GetPresetName() const
{
  return this->IsLoaded() ? m_Implementation->network->config().preset : std::string();
}

std::string
SHMoARegModel::GetConfigurationAsJSON() const
{
  return this->IsLoaded() ? m_Implementation->network->config().toJson() : std::string();
}

std::string
SHMoARegModel::GetProvenance() const
{
  return m_Implementation->provenance;
}

namespace {
FixedArray<double, 3>
toFixedArray(const std::array<double, 3> & values)
{
  return FixedArray<double, 3>(values.data());
}
} // namespace

FixedArray<double, 3>
SHMoARegModel::GetTrainingVoxelSpacing() const
{
  return toFixedArray(m_Implementation->trainingGrid.voxelMm);
}

FixedArray<double, 3>
SHMoARegModel::GetTrainingFieldOfView() const
{
  return toFixedArray(m_Implementation->trainingGrid.fieldOfViewMm);
}

std::string
SHMoARegModel::GetTrainingBoxCentre() const
{
  return m_Implementation->trainingGrid.boxCentre;
}

SizeValueType
SHMoARegModel::GetNumberOfParameters() const
{
  return this->IsLoaded() ? static_cast<SizeValueType>(m_Implementation->network->parameterCount()) : 0;
}

unsigned int
SHMoARegModel::GetNumberOfInputChannels() const
{
  return this->IsLoaded() ? static_cast<unsigned int>(m_Implementation->network->config().inChannels) : 0;
}

bool
SHMoARegModel::HasExpertMaps() const
{
  return this->IsLoaded() && m_Implementation->network->config().spatialHeterogeneousMoE;
}

bool
SHMoARegModel::IsDiffeomorphic() const
{
  return this->IsLoaded() && m_Implementation->network->config().diffeomorphic;
}

unsigned int
SHMoARegModel::GetNumberOfExperts() const
{
  return this->HasExpertMaps() ? static_cast<unsigned int>(m_Implementation->network->config().expertKernels.size())
                               : 0u;
}

void
SHMoARegModel::SetDevice(const std::string & device)
{
  try
  {
    m_Implementation->device = shmoareg::resolveDevice(device);
  }
  catch (const std::exception & error)
  {
    itkExceptionMacro(<< shmoareg::messageWithoutTrace(error));
  }
  m_Implementation->deviceName = device;
  if (this->IsLoaded())
  {
    m_Implementation->network->to(m_Implementation->device);
    m_Implementation->optimizer.reset();
  }
  this->Modified();
}

std::string
SHMoARegModel::GetDevice() const
{
  return m_Implementation->device.str();
}

void
SHMoARegModel::SetNumberOfThreads(int threads)
{
  try
  {
    shmoareg::setThreadCount(threads);
  }
  catch (const std::exception & error)
  {
    itkExceptionMacro(<< shmoareg::messageWithoutTrace(error));
  }
}

SHMoARegModel::Prediction
SHMoARegModel::Predict(const NetworkImageType * fixed, const NetworkImageType * moving, bool gateProbabilities) const
{
  return this->Predict(fixed, moving, gateProbabilities, InstanceOptimizationSettings());
}

SHMoARegModel::Prediction
SHMoARegModel::Predict(const NetworkImageType * fixed,
                       const NetworkImageType * moving,
                       bool gateProbabilities,
                       const InstanceOptimizationSettings & refinement,
                       const NetworkImageType * fixedMask,
                       const NetworkImageType * movingMask,
                       bool computeInverse,
                       const std::string & deviceName,
                       unsigned int networkPasses) const
{
  const std::string pairProblem = networkPairProblem(this->IsLoaded(), fixed, moving, "Predict");
  if (!pairProblem.empty())
  {
    itkExceptionMacro(<< pairProblem);
  }
  if (networkPasses < 1)
  {
    itkExceptionMacro(<< "the network needs at least one pass over the pair (network passes: 0)");
  }
  Prediction prediction;
  try
  {
    const auto start = std::chrono::steady_clock::now();
    torch::NoGradGuard noGrad;
    const torch::Device device = m_Implementation->predictionDevice(deviceName);
    shmoareg::RegistrationNetwork network = m_Implementation->networkOn(device);
    const torch::Tensor f = shmoareg::imageToTensor(fixed, device);
    const torch::Tensor m = shmoareg::imageToTensor(moving, device);
    const shmoareg::RegistrationOutput output = network->forward(m, f, computeInverse, static_cast<int>(networkPasses));
    torch::Tensor displacement = output.displacement;
    torch::Tensor inverse = output.inverseDisplacement;
    if (refinement.Iterations > 0)
    {
      for (const NetworkImageType * mask : { fixedMask, movingMask })
      {
        if (mask && mask->GetLargestPossibleRegion() != fixed->GetLargestPossibleRegion())
        {
          itkExceptionMacro(<< "the masks must lie on the network grid");
        }
      }
      const auto refinementStart = std::chrono::steady_clock::now();
      shmoareg::InstanceOptimizationOptions options;
      options.iterations = refinement.Iterations;
      options.learningRate = refinement.LearningRate;
      options.smoothnessWeight = refinement.SmoothnessWeight;
      options.foldingWeight = refinement.FoldingWeight;
      options.diffeomorphic = m_Implementation->network->config().diffeomorphic;
      options.integrationSteps = m_Implementation->network->config().integrationSteps;
      auto maskTensor = [&](const NetworkImageType * mask) {
        return mask ? (shmoareg::imageToTensor(mask, device) != 0).to(torch::kFloat) : torch::Tensor();
      };
      displacement = shmoareg::refineDisplacement(
        m, f, displacement, options, maskTensor(fixedMask), nullptr, maskTensor(movingMask), &inverse);
      prediction.RefinementSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - refinementStart).count();
    }
    prediction.VoxelDisplacement = shmoareg::tensorToVoxelDisplacement(displacement, fixed);
    if (inverse.defined())
    {
      prediction.InverseVoxelDisplacement = shmoareg::tensorToVoxelDisplacement(inverse, fixed);
    }
    if (!output.routing.empty())
    {
      prediction.ExpertMaps = shmoareg::tensorToExpertMaps(output.routing.back().expertIds, fixed);
      if (gateProbabilities)
      {
        prediction.GateProbabilities = shmoareg::tensorToGateProbabilities(output.routing.back().gateLogits, fixed);
      }
    }
    prediction.Seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  catch (const ExceptionObject &)
  {
    throw;
  }
  catch (const std::exception & error)
  {
    itkExceptionMacro(<< "the network failed: " << shmoareg::messageWithoutTrace(error));
  }
  return prediction;
}

double
SHMoARegModel::TrainStep(const NetworkImageType * fixed,
                         const NetworkImageType * moving,
                         double learningRate,
                         const std::string & similarity)
{
  const std::string pairProblem = networkPairProblem(this->IsLoaded(), fixed, moving, "TrainStep");
  if (!pairProblem.empty())
  {
    itkExceptionMacro(<< pairProblem);
  }
  if (!std::isfinite(learningRate) || learningRate < 0.0)
  {
    itkExceptionMacro(<< "the learning rate must be a finite number >= 0 (got " << learningRate << ")");
  }
  shmoareg::LossWeights weights;
  if (similarity == "ncc")
  {
    weights.similarity = shmoareg::Similarity::LocalNormalizedCrossCorrelation;
  }
  else if (similarity != "mse")
  {
    itkExceptionMacro(<< "unknown training similarity \"" << similarity << "\" (ncc or mse)");
  }
  Implementation & implementation = *m_Implementation;
  double loss = 0.0;
  try
  {
    shmoareg::RegistrationNetwork network = implementation.network;
    if (!implementation.optimizer)
    {
      implementation.optimizer =
        std::make_unique<torch::optim::Adam>(network->parameters(), torch::optim::AdamOptions(learningRate));
    }
    for (auto & group : implementation.optimizer->param_groups())
    {
      static_cast<torch::optim::AdamOptions &>(group.options()).lr(learningRate);
    }
    const torch::Tensor f = shmoareg::imageToTensor(fixed, implementation.device);
    const torch::Tensor m = shmoareg::imageToTensor(moving, implementation.device);
    network->train();
    implementation.optimizer->zero_grad();
    loss = shmoareg::backwardTotalLoss(network->forward(m, f), f, weights).total;
    implementation.optimizer->step();
    network->eval();
  }
  catch (const std::exception & error)
  {
    implementation.network->eval();
    itkExceptionMacro(<< "the training step failed: " << shmoareg::messageWithoutTrace(error));
  }
  {
    // Copies on other devices hold the weights before this step.
    std::lock_guard<std::mutex> lock(implementation.copiesMutex);
    implementation.copies.clear();
  }
  this->Modified();
  return loss;
}

std::ostream &
operator<<(std::ostream & os, const SHMoARegModel::InstanceOptimizationSettings & settings)
{
  return os << "iterations " << settings.Iterations << ", learning rate " << settings.LearningRate << ", smoothness "
            << settings.SmoothnessWeight << ", folding " << settings.FoldingWeight;
}

void
SHMoARegModel::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "Preset: " << (this->IsLoaded() ? this->GetPresetName() : std::string("(none)")) << std::endl;
  os << indent << "NumberOfParameters: " << this->GetNumberOfParameters() << std::endl;
  os << indent << "Device: " << this->GetDevice() << std::endl;
  os << indent << "Provenance: " << m_Implementation->provenance << std::endl;
}

SHMoARegModel::RefinementSettings
SHMoARegModel::GetRefinementPreset(const std::string & name)
{
  shmoareg::MultiLevelRefinementOptions options;
  try
  {
    options = shmoareg::refinementPreset(name);
  }
  catch (const std::invalid_argument & error)
  {
    itkGenericExceptionMacro(<< error.what());
  }
  RefinementSettings settings;
  for (const auto & level : options.levels)
  {
    settings.Levels.push_back({ level.voxelScale, static_cast<unsigned int>(level.iterations) });
  }
  settings.NCCWindow = static_cast<unsigned int>(options.nccWindow);
  settings.LearningRate = options.learningRate;
  settings.SmoothnessWeight = options.smoothnessWeight;
  settings.FoldingWeight = options.foldingWeight;
  settings.SmoothingPasses = static_cast<unsigned int>(options.smoothingPasses);
  settings.AutoStop = options.autoStop;
  settings.AutoStopWindow = static_cast<unsigned int>(options.autoStopWindow);
  settings.AutoStopTolerance = options.autoStopTolerance;
  return settings;
}

SHMoARegModel::VoxelDisplacementFieldType::Pointer
SHMoARegModel::Refine(const NetworkImageType * fixed,
                      const NetworkImageType * moving,
                      const VoxelDisplacementFieldType * initial,
                      const RefinementSettings & settings,
                      const NetworkImageType * fixedMask,
                      const NetworkImageType * movingMask,
                      std::vector<RefinementLevelReport> * report,
                      const std::string & deviceName) const
{
  return this->Refine(fixed, moving, initial, settings, fixedMask, movingMask, report, deviceName, nullptr);
}

SHMoARegModel::VoxelDisplacementFieldType::Pointer
SHMoARegModel::Refine(const NetworkImageType * fixed,
                      const NetworkImageType * moving,
                      const VoxelDisplacementFieldType * initial,
                      const RefinementSettings & settings,
                      const NetworkImageType * fixedMask,
                      const NetworkImageType * movingMask,
                      std::vector<RefinementLevelReport> * report,
                      const std::string & deviceName,
                      const RefinementLevelCallback & levelDone) const
{
  if (fixed == nullptr || moving == nullptr || initial == nullptr)
  {
    itkExceptionMacro(<< "refinement needs a fixed image, a moving image and a starting field");
  }
  for (const ImageBase<3> * image : { static_cast<const ImageBase<3> *>(moving),
                                      static_cast<const ImageBase<3> *>(initial),
                                      static_cast<const ImageBase<3> *>(fixedMask),
                                      static_cast<const ImageBase<3> *>(movingMask) })
  {
    if (image && image->GetLargestPossibleRegion() != fixed->GetLargestPossibleRegion())
    {
      itkExceptionMacro(<< "refinement needs its images, masks and field on the fixed grid");
    }
  }
  shmoareg::MultiLevelRefinementOptions options;
  options.levels.clear();
  for (const auto & level : settings.Levels)
  {
    options.levels.push_back({ level.VoxelScale, static_cast<int64_t>(level.Iterations) });
  }
  if (settings.Similarity == "ncc")
    options.similarity = shmoareg::RefinementSimilarity::LocalNormalizedCrossCorrelation;
  else if (settings.Similarity == "mind")
    options.similarity = shmoareg::RefinementSimilarity::MindSsc;
  else if (settings.Similarity == "mse")
    options.similarity = shmoareg::RefinementSimilarity::MeanSquaredError;
  else
  {
    itkExceptionMacro(<< "unknown refinement similarity '" << settings.Similarity << "' (known: ncc, mind, mse)");
  }
  options.nccWindow = settings.NCCWindow;
  options.learningRate = settings.LearningRate;
  options.smoothnessWeight = settings.SmoothnessWeight;
  options.foldingWeight = settings.FoldingWeight;
  options.smoothingPasses = settings.SmoothingPasses;
  options.autoStop = settings.AutoStop;
  options.autoStopWindow = settings.AutoStopWindow;
  options.autoStopTolerance = settings.AutoStopTolerance;
  if (this->IsLoaded())
  {
    options.diffeomorphic = m_Implementation->network->config().diffeomorphic;
    options.integrationSteps = m_Implementation->network->config().integrationSteps;
  }
  auto toReport = [](const shmoareg::RefinementLevelReport & r) {
    RefinementLevelReport out;
    for (unsigned int a = 0; a < 3; ++a)
    {
      out.GridSize[a] = static_cast<SizeValueType>(r.size[2 - a]); // tensor (k, j, i) -> i j k
      out.Spacing[a] = r.spacingMm[2 - a];
    }
    out.Iterations = static_cast<unsigned int>(r.iterations);
    out.FirstLoss = r.firstLoss;
    out.FinalLoss = r.finalLoss;
    out.Seconds = r.seconds;
    return out;
  };
  try
  {
    torch::NoGradGuard noGrad;
    const torch::Device device = m_Implementation->predictionDevice(deviceName);
    auto maskTensor = [&](const NetworkImageType * mask) {
      return mask ? (shmoareg::imageToTensor(mask, device) != 0).to(torch::kFloat) : torch::Tensor();
    };
    std::vector<shmoareg::RefinementLevelReport> levels;
    const torch::Tensor refined = shmoareg::refineMultiLevel(shmoareg::imageToTensor(moving, device),
                                                             shmoareg::imageToTensor(fixed, device),
                                                             shmoareg::voxelDisplacementToTensor(initial, device),
                                                             shmoareg::tensorAxisSpacing(fixed),
                                                             options,
                                                             maskTensor(fixedMask),
                                                             maskTensor(movingMask),
                                                             &levels,
                                                             [&](const shmoareg::RefinementLevelReport & level) {
                                                               if (levelDone)
                                                                 levelDone(toReport(level));
                                                             });
    if (report)
    {
      report->clear();
      for (const auto & r : levels)
        report->push_back(toReport(r));
    }
    return shmoareg::tensorToVoxelDisplacement(refined, fixed);
  }
  catch (const ExceptionObject &)
  {
    throw;
  }
  catch (const std::exception & error)
  {
    itkExceptionMacro(<< "the refinement failed: " << shmoareg::messageWithoutTrace(error));
  }
}

} // namespace itk
