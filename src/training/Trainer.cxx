#include "Trainer.h"

#include "Checkpoint.h"
#include "Device.h"
#include "FieldIntegration.h"
#include "ImageFiles.h"
#include "ImageTensorBridge.h"
#include "JsonValues.h"
#include "SpatialTransformer.h"
#include "itkSHMoARegNetworkGrid.h"

#include "itkCastImageFilter.h"
#include "itkNearestNeighborInterpolateImageFunction.h"
#include "itkResampleImageFilter.h"

#include <ATen/CPUGeneratorImpl.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <numeric>
#include <random>
#include <set>
#include <sstream>

namespace shmoareg::training {

namespace fs = std::filesystem;

namespace {
std::atomic<bool> g_stopRequested{ false };

extern "C" void
requestStop(int)
{
  g_stopRequested = true;
}

// Ctrl-C (and SIGTERM) during training: finish the iteration, checkpoint, stop.
class StopSignalGuard
{
public:
  StopSignalGuard()
  {
    g_stopRequested = false;
    m_PreviousInterrupt = std::signal(SIGINT, requestStop);
    m_PreviousTerminate = std::signal(SIGTERM, requestStop);
  }
  ~StopSignalGuard()
  {
    std::signal(SIGINT, m_PreviousInterrupt);
    std::signal(SIGTERM, m_PreviousTerminate);
  }

private:
  void (*m_PreviousInterrupt)(int);
  void (*m_PreviousTerminate)(int);
};

std::string
similarityName(Similarity s)
{
  return s == Similarity::MeanSquaredError ? "mse" : "ncc";
}

torch::Tensor
bytesToTensor(const std::string & bytes)
{
  torch::Tensor t = torch::empty({ static_cast<int64_t>(bytes.size()) }, torch::kUInt8);
  std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return t;
}

std::string
tensorToBytes(const torch::Tensor & t)
{
  const torch::Tensor c = t.contiguous();
  return std::string(reinterpret_cast<const char *>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}

torch::Tensor
torchRandomState()
{
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void
setTorchRandomState(const torch::Tensor & state)
{
  auto generator = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

std::string
formatDuration(double seconds)
{
  const auto s = static_cast<int64_t>(std::max(0.0, seconds));
  std::ostringstream out;
  out << s / 3600 << ":" << std::setw(2) << std::setfill('0') << (s / 60) % 60 << ":" << std::setw(2)
      << std::setfill('0') << s % 60;
  return out.str();
}

// One source of training pairs: its shard of the ordered pairs, its sampler, and the LibTorch
// random state its forward passes draw from.
struct PairStream
{
  int64_t index = 0;
  std::vector<size_t> pairs;
  std::mt19937_64 sampler;
  torch::Tensor randomState;
};

uint64_t
streamSeed(uint64_t seed, int64_t stream)
{
  return seed + static_cast<uint64_t>(stream) * 0x9E3779B97F4A7C15ULL;
}

// Checkpoint names: stream 0 keeps the names a single-stream checkpoint has always had.
std::string
streamKey(const std::string & name, int64_t stream)
{
  return stream == 0 ? name : name + "_" + std::to_string(stream);
}

void
addLossValues(LossValues & sum, const LossValues & v, double weight)
{
  sum.total += weight * v.total;
  sum.similarity += weight * v.similarity;
  sum.smoothness += weight * v.smoothness;
  sum.routing += weight * v.routing;
  sum.moaLoadBalance += weight * v.moaLoadBalance;
  sum.moaRouterZ += weight * v.moaRouterZ;
  sum.dice += weight * v.dice;
  sum.knownField += weight * v.knownField;
}

// Copies a flat tensor (the parameters' or gradients' concatenation) back into the parameters
// or into their gradients.
void
copyFlatInto(const torch::Tensor & flat, const std::vector<torch::Tensor> & parameters, bool gradients)
{
  torch::NoGradGuard noGrad;
  int64_t offset = 0;
  for (const auto & p : parameters)
  {
    const int64_t n = p.numel();
    const torch::Tensor part = flat.slice(0, offset, offset + n).view_as(p).to(p.device());
    if (gradients)
      p.grad().copy_(part);
    else
      p.detach().copy_(part);
    offset += n;
  }
}

// Two checksums of the weights' bits, exact whatever the order of summation (integer sums of
// the float32 bit patterns, kept below 2^40 so that a double carries them exactly).
std::pair<double, double>
weightChecksums(const std::vector<torch::Tensor> & parameters)
{
  torch::NoGradGuard noGrad;
  constexpr int64_t mask = (int64_t{ 1 } << 40) - 1;
  int64_t first = 0, second = 0;
  for (const auto & p : parameters)
  {
    const torch::Tensor bits =
      p.detach().to(torch::kCPU, torch::kFloat32).contiguous().view(torch::kInt32).to(torch::kInt64);
    first = (first + (bits.sum().item<int64_t>() & mask)) & mask;
    second =
      (second + ((bits.bitwise_and(0xFFFF) * torch::div(bits, 65536, "floor")).sum().item<int64_t>() & mask)) & mask;
  }
  return { static_cast<double>(first), static_cast<double>(second) };
}

// Every rank's strings to every rank: each rank fills its own entries (the others empty), and
// two sums (the lengths, then the bytes) assemble them.
void
gatherStrings(DistributedGroup & group, std::vector<std::string> & strings, const std::string & what)
{
  const int64_t count = static_cast<int64_t>(strings.size());
  torch::Tensor lengths = torch::zeros({ count }, torch::kInt64);
  for (int64_t i = 0; i < count; ++i)
    lengths[i] = static_cast<int64_t>(strings[static_cast<size_t>(i)].size());
  group.sum(lengths, what);
  std::vector<int64_t> offsets(static_cast<size_t>(count) + 1, 0);
  for (int64_t i = 0; i < count; ++i)
    offsets[static_cast<size_t>(i) + 1] = offsets[static_cast<size_t>(i)] + lengths[i].item<int64_t>();
  torch::Tensor bytes = torch::zeros({ offsets.back() }, torch::kInt32);
  auto b = bytes.accessor<int32_t, 1>();
  for (int64_t i = 0; i < count; ++i)
  {
    const std::string & s = strings[static_cast<size_t>(i)];
    for (size_t k = 0; k < s.size(); ++k)
      b[offsets[static_cast<size_t>(i)] + static_cast<int64_t>(k)] = static_cast<unsigned char>(s[k]);
  }
  group.sum(bytes, what);
  for (int64_t i = 0; i < count; ++i)
  {
    std::string & s = strings[static_cast<size_t>(i)];
    s.resize(static_cast<size_t>(offsets[static_cast<size_t>(i) + 1] - offsets[static_cast<size_t>(i)]));
    for (size_t k = 0; k < s.size(); ++k)
      s[k] = static_cast<char>(b[offsets[static_cast<size_t>(i)] + static_cast<int64_t>(k)]);
  }
}

NetworkConfig
networkConfig(const TrainingOptions & options)
{
  nlohmann::json j = options.network;
  j["preset"] = options.preset;
  return NetworkConfig::fromJson(j.dump());
}
} // namespace

nlohmann::json
TrainingOptions::toJson() const
{
  const auto & s = synthetic;
  return { { "preset", preset },
           { "network", network },
           { "data", data },
           { "synthetic",
             { { "atlas_image", s.atlasImage },
               { "atlas_labels", s.atlasLabels },
               { "anisotropic", s.anisotropic },
               { "spacing", s.spacing },
               { "train", s.train },
               { "val", s.val },
               { "test", s.test },
               { "seed", s.seed },
               { "control_points", s.controlPoints },
               { "velocity_std", s.velocityStd },
               { "rotation_degrees", s.rotationDegrees },
               { "scale", s.scale },
               { "translation_mm", s.translationMm },
               { "gamma_std", s.gammaStd },
               { "bias_std", s.biasStd },
               { "noise_std", s.noiseStd },
               { "velocity_std_max", s.velocityStdMax },
               { "label_contrast_fraction", s.labelContrastFraction },
               { "tissue_labels", s.tissueLabels },
               { "flip_fraction", s.flipFraction } } },
           { "grid", grid },
           { "centre_crop_mm", centreCropMm },
           { "box_centre", boxCentre },
           { "iterations", iterations },
           { "learning_rate", learningRate },
           { "lr_schedule", learningRateSchedule },
           { "warmup_iterations", warmupIterations },
           { "min_learning_rate", minLearningRate },
           { "initial_model", initialModel },
           { "lambda_r", weights.regularization },
           { "lambda_rc", weights.routing },
           { "lambda_dice", weights.dice },
           { "dice_labels_per_iteration", diceLabelsPerIteration },
           { "lambda_known_field", weights.knownField },
           { "similarity", similarityName(weights.similarity) },
           { "validation_interval", validationInterval },
           { "checkpoint_interval", checkpointInterval },
           { "log_interval", logInterval },
           { "validation_pairs", validationPairs },
           { "output", output },
           { "seed", seed },
           { "pairs_per_iteration", pairsPerIteration },
           { "threads", threads },
           { "device", device } };
}

void
applyTrainingOptions(const nlohmann::json & fields, TrainingOptions & o)
{
  if (!fields.is_object())
    throw std::invalid_argument("a training configuration must be a JSON object");
  try
  {
    for (auto it = fields.begin(); it != fields.end(); ++it)
    {
      const std::string & k = it.key();
      const auto & v = it.value();
      if (k == "preset")
        o.preset = v.get<std::string>();
      else if (k == "network")
        o.network = v;
      else if (k == "data")
        o.data = v.get<std::string>();
      else if (k == "grid")
        o.grid = v.is_number()
                   ? std::array<int, 3>{ jsonInteger<int>(v, k), jsonInteger<int>(v, k), jsonInteger<int>(v, k) }
                   : jsonIntegerArray<int, 3>(v, k);
      else if (k == "centre_crop_mm")
        o.centreCropMm = jsonNumberArray<3>(v, k);
      else if (k == "box_centre")
        o.boxCentre = v.get<std::string>();
      else if (k == "iterations")
        o.iterations = jsonInteger<int64_t>(v, k);
      else if (k == "learning_rate")
        o.learningRate = jsonNumber(v, k);
      else if (k == "lr_schedule")
      {
        o.learningRateSchedule = v.get<std::string>();
        if (o.learningRateSchedule != "constant" && o.learningRateSchedule != "cosine")
          throw std::invalid_argument("lr_schedule must be constant or cosine, got '" + o.learningRateSchedule + "'");
      }
      else if (k == "warmup_iterations")
        o.warmupIterations = jsonInteger<int64_t>(v, k);
      else if (k == "min_learning_rate")
        o.minLearningRate = jsonNumber(v, k);
      else if (k == "initial_model")
        o.initialModel = v.get<std::string>();
      else if (k == "lambda_dice")
        o.weights.dice = jsonNumber(v, k);
      else if (k == "dice_labels_per_iteration")
        o.diceLabelsPerIteration = jsonInteger<int64_t>(v, k);
      else if (k == "lambda_known_field")
        o.weights.knownField = jsonNumber(v, k);
      else if (k == "lambda_r")
        o.weights.regularization = jsonNumber(v, k);
      else if (k == "lambda_rc")
        o.weights.routing = jsonNumber(v, k);
      else if (k == "similarity")
      {
        const std::string s = v.get<std::string>();
        if (s != "mse" && s != "ncc")
          throw std::invalid_argument("similarity must be mse or ncc, got '" + s + "'");
        o.weights.similarity = s == "mse" ? Similarity::MeanSquaredError : Similarity::LocalNormalizedCrossCorrelation;
      }
      else if (k == "validation_interval")
        o.validationInterval = jsonInteger<int64_t>(v, k);
      else if (k == "checkpoint_interval")
        o.checkpointInterval = jsonInteger<int64_t>(v, k);
      else if (k == "log_interval")
        o.logInterval = jsonInteger<int64_t>(v, k);
      else if (k == "validation_pairs")
        o.validationPairs = jsonInteger<size_t>(v, k);
      else if (k == "output")
        o.output = v.get<std::string>();
      else if (k == "seed")
        o.seed = jsonInteger<uint64_t>(v, k);
      else if (k == "threads")
        o.threads = jsonInteger<int>(v, k);
      else if (k == "pairs_per_iteration")
      {
        o.pairsPerIteration = jsonInteger<int64_t>(v, k);
        if (o.pairsPerIteration < 1)
          throw std::invalid_argument("pairs_per_iteration must be at least 1, got " +
                                      std::to_string(o.pairsPerIteration));
      }
      else if (k == "device")
        o.device = v.get<std::string>();
      else if (k == "synthetic")
      {
        auto & s = o.synthetic;
        for (auto f = v.begin(); f != v.end(); ++f)
        {
          const std::string & n = f.key();
          const auto & x = f.value();
          if (n == "atlas_image")
            s.atlasImage = x.get<std::string>();
          else if (n == "atlas_labels")
            s.atlasLabels = x.get<std::string>();
          else if (n == "anisotropic")
            s.anisotropic = x.get<bool>();
          else if (n == "spacing")
            s.spacing = jsonNumber(x, n);
          else if (n == "train")
            s.train = jsonInteger<size_t>(x, n);
          else if (n == "val")
            s.val = jsonInteger<size_t>(x, n);
          else if (n == "test")
            s.test = jsonInteger<size_t>(x, n);
          else if (n == "seed")
            s.seed = jsonInteger<uint64_t>(x, n);
          else if (n == "control_points")
            s.controlPoints = jsonInteger<int>(x, n);
          else if (n == "velocity_std")
            s.velocityStd = jsonNumber(x, n);
          else if (n == "rotation_degrees")
            s.rotationDegrees = jsonNumber(x, n);
          else if (n == "scale")
            s.scale = jsonNumber(x, n);
          else if (n == "translation_mm")
            s.translationMm = jsonNumber(x, n);
          else if (n == "gamma_std")
            s.gammaStd = jsonNumber(x, n);
          else if (n == "bias_std")
            s.biasStd = jsonNumber(x, n);
          else if (n == "noise_std")
            s.noiseStd = jsonNumber(x, n);
          else if (n == "velocity_std_max")
            s.velocityStdMax = jsonNumber(x, n);
          else if (n == "label_contrast_fraction")
            s.labelContrastFraction = jsonNumber(x, n);
          else if (n == "tissue_labels")
            s.tissueLabels = x.get<bool>();
          else if (n == "flip_fraction")
            s.flipFraction = jsonNumber(x, n);
          else
            throw std::invalid_argument("unknown synthetic-data field '" + n + "'");
        }
      }
      else
        throw std::invalid_argument("unknown training field '" + k + "'");
    }
  }
  catch (const nlohmann::json::exception & error)
  {
    throw std::invalid_argument(std::string("a training field has the wrong type: ") + error.what());
  }
  if (o.iterations < 0 || o.learningRate <= 0 || o.validationInterval < 1 || o.checkpointInterval < 1 ||
      o.logInterval < 1)
    throw std::invalid_argument("iterations must be >= 0, the learning rate > 0 and every interval >= 1");
  if (o.warmupIterations < 0 || o.minLearningRate < 0 || o.minLearningRate > o.learningRate || o.weights.dice < 0 ||
      o.weights.knownField < 0)
    throw std::invalid_argument("warmup_iterations, lambda_dice and lambda_known_field must be >= 0, "
                                "min_learning_rate in [0, learning_rate]");
  if (o.boxCentre != "image" && o.boxCentre != "foreground")
    throw std::invalid_argument("box_centre must be \"image\" or \"foreground\", got \"" + o.boxCentre + "\"");
  const auto & syn = o.synthetic;
  if (syn.labelContrastFraction < 0 || syn.labelContrastFraction > 1 || syn.flipFraction < 0 || syn.flipFraction > 1)
    throw std::invalid_argument("label_contrast_fraction and flip_fraction must be in [0, 1]");
  if (syn.velocityStdMax > 0 && syn.velocityStdMax < syn.velocityStd)
    throw std::invalid_argument("velocity_std_max must be 0 (off) or at least velocity_std");
  for (int n : o.grid)
    if (n < 8 || n > 512)
      throw std::invalid_argument("grid sizes must be in [8, 512]");
}

TrainingOptions
readTrainingOptions(const std::string & path)
{
  std::ifstream in(path);
  if (!in)
    throw std::invalid_argument("cannot read the training configuration '" + path + "'");
  nlohmann::json j;
  try
  {
    j = nlohmann::json::parse(in);
  }
  catch (const nlohmann::json::exception & error)
  {
    throw std::invalid_argument("the training configuration '" + path + "' is not valid JSON: " + error.what());
  }
  TrainingOptions options;
  applyTrainingOptions(j, options);
  return options;
}

DatasetManifest
resolveDataset(const std::string & data,
               const SyntheticDatasetOptions & synthetic,
               const std::string & scratchFolder,
               bool knownFields)
{
  if (data == "synthetic")
  {
    // Generated once per option set and reused: the folder remembers its options.
    const fs::path folder = fs::path(scratchFolder) / "synthetic-data";
    TrainingOptions keyOptions;
    keyOptions.synthetic = synthetic;
    const std::string key = keyOptions.toJson()["synthetic"].dump() + (knownFields ? " known fields" : "");
    const fs::path stamp = folder / "options.json";
    std::string existing;
    if (fs::exists(stamp))
    {
      std::ifstream in(stamp);
      std::stringstream content;
      content << in.rdbuf();
      existing = content.str();
    }
    if (existing == key && fs::exists(folder / "manifest.json"))
      return readManifest((folder / "manifest.json").string());
    DatasetManifest manifest = writeSyntheticDataset(synthetic, folder.string(), knownFields);
    std::ofstream(stamp) << key;
    return manifest;
  }
  if (data.rfind("oasis:", 0) == 0)
    return scanLearn2RegOASIS(data.substr(6));
  if (data.rfind("btcv:", 0) == 0)
    return scanBTCV(data.substr(5));
  return readManifest(data);
}

PreparedSubject
prepareSubject(const Subject & subject,
               const std::array<int, 3> & grid,
               const std::array<double, 3> & centreCropMm,
               const std::string & boxCentre)
{
  // The network grid: a box of centreCropMm (0: the whole axis) centred on the image, by the
  // one definition the filters use at inference (SHMoARegNetworkGrid::MakeGrid).
  const ImageType::Pointer image = subject.image;
  itk::SHMoARegNetworkGrid::SizeType size;
  itk::SHMoARegNetworkGrid::FieldOfViewType fieldOfView;
  for (unsigned a = 0; a < 3; ++a)
  {
    size[a] = static_cast<itk::SizeValueType>(grid[a]);
    fieldOfView[a] = centreCropMm[a];
  }
  const auto networkGrid =
    boxCentre == "foreground"
      ? itk::SHMoARegNetworkGrid::MakeGrid(
          image, size, fieldOfView, itk::SHMoARegNetworkGrid::ForegroundCentre(image.GetPointer()))
      : itk::SHMoARegNetworkGrid::MakeGrid(image, size, fieldOfView);
  const auto onGrid = itk::SHMoARegNetworkGrid::PrepareNetworkInput(image.GetPointer(), networkGrid);
  PreparedSubject prepared;
  prepared.id = subject.id;
  prepared.image = imageToTensor(onGrid, torch::kCPU);
  for (unsigned a = 0; a < 3; ++a)
    prepared.voxelMm[a] = networkGrid->GetSpacing()[a];
  if (subject.labels)
  {
    auto labels = itk::ResampleImageFilter<LabelImageType, ImageType>::New();
    labels->SetInput(subject.labels);
    labels->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<LabelImageType, double>::New());
    labels->SetOutputParametersFromImage(networkGrid);
    labels->Update();
    prepared.labels = imageToTensor(labels->GetOutput(), torch::kCPU);
  }
  if (subject.toAtlas && subject.fromAtlas)
  {
    // Millimetre fields sampled (linearly) at the network grid's points, then in
    // the network's voxels: composed per pair in the loop (knownFieldOfPair).
    auto onNetworkGrid = [&](const DisplacementFieldType::Pointer & field) {
      auto resample = itk::ResampleImageFilter<DisplacementFieldType, DisplacementFieldType>::New();
      resample->SetInput(field);
      resample->SetOutputParametersFromImage(networkGrid);
      resample->Update();
      return voxelDisplacementToTensor(itk::SHMoARegNetworkGrid::PhysicalToVoxel(resample->GetOutput()), torch::kCPU);
    };
    prepared.toAtlas = onNetworkGrid(subject.toAtlas);
    prepared.fromAtlas = onNetworkGrid(subject.fromAtlas);
  }
  return prepared;
}

double
scheduledLearningRate(const TrainingOptions & o, int64_t iteration)
{
  if (iteration < o.warmupIterations)
    return o.learningRate * static_cast<double>(iteration + 1) / static_cast<double>(o.warmupIterations);
  if (o.learningRateSchedule == "constant" || o.iterations <= o.warmupIterations)
    return o.learningRate;
  const double progress = std::min(
    1.0, static_cast<double>(iteration - o.warmupIterations) / static_cast<double>(o.iterations - o.warmupIterations));
  return o.minLearningRate +
         0.5 * (o.learningRate - o.minLearningRate) * (1.0 + std::cos(3.14159265358979323846 * progress));
}

double
meanDice(const torch::Tensor & warpedLabels, const torch::Tensor & fixedLabels)
{
  const torch::Tensor labels = std::get<0>(torch::_unique(fixedLabels.flatten(), /*sorted=*/true));
  double sum = 0.0;
  int count = 0;
  for (int64_t i = 0; i < labels.numel(); ++i)
  {
    const double label = labels[i].item<double>();
    if (label == 0.0)
      continue;
    const torch::Tensor a = warpedLabels == label, b = fixedLabels == label;
    const double both = (a & b).sum().item<double>();
    sum += 2.0 * both / (a.sum().item<double>() + b.sum().item<double>());
    ++count;
  }
  return count > 0 ? sum / count : 0.0;
}

TrainingResult
train(const TrainingOptions & options, bool resume, std::ostream & consoleLog, const DistributedSettings & distributed)
{
  if (options.pairsPerIteration < 1)
    throw std::invalid_argument("pairs_per_iteration must be at least 1, got " +
                                std::to_string(options.pairsPerIteration));
  // Data parallel: each rank computes the gradients of its own pairs, the group averages them,
  // and every rank takes the same step; rank 0 alone validates and writes.
  std::unique_ptr<DistributedGroup> group;
  if (distributed.enabled())
    group = std::make_unique<DistributedGroup>(distributed);
  const int rank = group ? group->rank() : 0;
  const int worldSize = group ? group->size() : 1;
  const bool writer = rank == 0;
  std::ostream silent(nullptr);
  std::ostream & log = writer ? consoleLog : silent;
  if (group)
    log << "distributed: " << worldSize << " ranks joined through " << distributed.masterAddress << ":"
        << distributed.masterPort << " (Gloo), " << options.pairsPerIteration << " pair(s) per rank per iteration\n";
  auto barrier = [&](const std::string & what) {
    if (!group)
      return;
    torch::Tensor token = torch::zeros({ 1 });
    group->sum(token, what);
  };

  setThreadCount(options.threads);
  const torch::Device device = resolveDevice(options.device);
  if (writer)
    fs::create_directories(options.output);
  const std::string checkpointPath = (fs::path(options.output) / "checkpoint.pt").string();
  const std::string logPath = (fs::path(options.output) / "log.csv").string();

  // Rank 0 first: a synthetic dataset is generated once, into its scratch folder.
  DatasetManifest manifest;
  if (writer)
    manifest = resolveDataset(options.data, options.synthetic, options.output, options.weights.knownField > 0.0);
  barrier("waiting for rank 0 to prepare the dataset");
  if (!writer)
    manifest = resolveDataset(options.data, options.synthetic, options.output, options.weights.knownField > 0.0);
  manifest.requireSplits({ "train", "val" });
  auto prepare = [&](const std::string & split) {
    std::vector<PreparedSubject> prepared;
    for (const auto & entry : manifest.split(split))
    {
      Subject subject = loadSubject(entry);
      if (options.weights.knownField > 0.0 && !entry.toAtlas.empty())
      {
        subject.toAtlas = readImageFile<DisplacementFieldType>(entry.toAtlas, "known field", 3);
        subject.fromAtlas = readImageFile<DisplacementFieldType>(entry.fromAtlas, "known field", 3);
      }
      prepared.push_back(prepareSubject(subject, options.grid, options.centreCropMm, options.boxCentre));
      prepared.back().mirrored = entry.mirrored;
    }
    for (auto & p : prepared)
    {
      p.image = p.image.to(device);
      if (p.labels.defined())
        p.labels = p.labels.to(device);
      if (p.toAtlas.defined())
      {
        p.toAtlas = p.toAtlas.to(device);
        p.fromAtlas = p.fromAtlas.to(device);
      }
    }
    return prepared;
  };
  const std::vector<PreparedSubject> trainSubjects = prepare("train");
  const std::vector<PreparedSubject> valSubjects = prepare("val");
  if (trainSubjects.size() < 2 || valSubjects.size() < 2)
    throw DatasetError("training needs at least two train and two val subjects (ordered pairs of distinct subjects)");
  // Ordered pairs (moving, fixed) of distinct subjects: n (n - 1), as the paper.
  auto pairsOf = [](size_t n) {
    std::vector<std::pair<size_t, size_t>> pairs;
    for (size_t m = 0; m < n; ++m)
      for (size_t f = 0; f < n; ++f)
        if (m != f)
          pairs.emplace_back(m, f);
    return pairs;
  };
  const auto trainPairs = pairsOf(trainSubjects.size());
  auto valPairs = pairsOf(valSubjects.size());
  if (valPairs.size() > options.validationPairs)
    valPairs.resize(std::max<size_t>(1, options.validationPairs));

  // Channels of the one-hot label maps of the Dice term: every label value of the training and
  // validation subjects (0 first: the background channel the loss leaves out).
  std::vector<double> labelValues;
  std::vector<torch::Tensor> trainLabelIndex, valLabelIndex;
  if (options.weights.dice > 0.0)
  {
    std::set<double> values{ 0.0 };
    for (const auto * subjects : { &trainSubjects, &valSubjects })
      for (const auto & p : *subjects)
      {
        if (!p.labels.defined())
          throw DatasetError("lambda_dice > 0 needs label maps for every subject; '" + p.id + "' has none");
        const torch::Tensor unique = std::get<0>(torch::_unique(p.labels.flatten().cpu(), /*sorted=*/true));
        for (int64_t i = 0; i < unique.numel(); ++i)
          values.insert(unique[i].item<double>());
      }
    labelValues.assign(values.begin(), values.end());
    const torch::Tensor table = torch::tensor(labelValues, torch::kFloat32).to(device);
    auto indexOf = [&](const PreparedSubject & p) { // label value -> channel, by sorted search
      return torch::searchsorted(table, p.labels.flatten().contiguous()).view_as(p.labels).to(torch::kInt64);
    };
    for (const auto & p : trainSubjects)
      trainLabelIndex.push_back(indexOf(p));
    for (const auto & p : valSubjects)
      valLabelIndex.push_back(indexOf(p));
    log << "Dice term on " << labelValues.size() - 1 << " labels (weight " << options.weights.dice << ")\n";
  }
  // One-hot maps of the chosen channels (all labels, or a random subset each iteration when
  // dice_labels_per_iteration is set: the warp of the maps is the Dice term's cost). The
  // subset is a function of the iteration, so a resumed run draws the same ones.
  auto chosenChannels = [&](int64_t iteration) {
    const bool subset = iteration >= 0;
    std::vector<int64_t> channels(labelValues.size());
    std::iota(channels.begin(), channels.end(), 0);
    const size_t wanted = static_cast<size_t>(options.diceLabelsPerIteration);
    if (subset && wanted > 0 && wanted + 1 < channels.size())
    {
      std::mt19937_64 labelSampler(options.seed ^ 0x6C6162656C73ULL ^ static_cast<uint64_t>(iteration));
      std::shuffle(channels.begin() + 1, channels.end(), labelSampler); // channel 0, the background, stays first
      channels.resize(wanted + 1);
    }
    return torch::tensor(channels, torch::kInt64).to(device);
  };
  auto oneHot = [&](const torch::Tensor & index, const torch::Tensor & channels) { // -> [1, K, D, H, W]
    return (index == channels.view({ 1, -1, 1, 1, 1 })).to(torch::kFloat32);
  };
  // iteration < 0 (validation): every label.
  auto labelMapsOf = [&](const std::vector<torch::Tensor> & index, size_t moving, size_t fixed, int64_t iteration) {
    const torch::Tensor channels = chosenChannels(iteration);
    return LabelMaps{ oneHot(index[moving], channels), oneHot(index[fixed], channels) };
  };

  // The pair's true field x -> y + fromAtlas_m(y), y = x + toAtlas_f(x), over the fixed brain;
  // none when the term is off, a subject has no known field, or one is mirrored and the other
  // not (their atlases differ).
  auto knownFieldOfPair = [&](const PreparedSubject & m, const PreparedSubject & f) {
    KnownField known;
    if (options.weights.knownField > 0.0 && m.fromAtlas.defined() && f.toAtlas.defined() && f.labels.defined() &&
        m.mirrored == f.mirrored)
    {
      torch::NoGradGuard noGrad;
      known.displacement = composeDisplacements(m.fromAtlas, f.toAtlas);
      known.mask = (f.labels > 0).to(torch::kFloat32);
    }
    return known;
  };

  torch::manual_seed(options.seed);
  RegistrationNetwork network(networkConfig(options));
  network->to(device);
  torch::optim::Adam optimizer(network->parameters(), torch::optim::AdamOptions(options.learningRate));
  const std::vector<torch::Tensor> parameters = network->parameters();

  // Pair streams: each iteration takes one pair from each of `streamCount` streams (this rank's
  // are rank * p .. rank * p + p - 1), each drawing from its own shard of the pairs with its own
  // seed and its own LibTorch random state (router noise, drop path). So W ranks of p pairs
  // take the same steps as one process of W * p pairs, and a resume restores every stream.
  const int64_t streamCount = options.pairsPerIteration * worldSize;
  if (static_cast<int64_t>(trainPairs.size()) < streamCount)
    throw DatasetError(std::to_string(streamCount) + " pairs per iteration (" + std::to_string(worldSize) +
                       " rank(s) x " + std::to_string(options.pairsPerIteration) +
                       ") need as many training pairs; the train split has " + std::to_string(trainSubjects.size()) +
                       " subjects, " + std::to_string(trainPairs.size()) + " ordered pairs");
  std::vector<PairStream> streams(static_cast<size_t>(options.pairsPerIteration));
  for (size_t j = 0; j < streams.size(); ++j)
  {
    streams[j].index = rank * options.pairsPerIteration + static_cast<int64_t>(j);
    for (size_t i = static_cast<size_t>(streams[j].index); i < trainPairs.size(); i += static_cast<size_t>(streamCount))
      streams[j].pairs.push_back(i);
  }
  // Stream 0 of a fresh run continues the random state that built the network, as a
  // single-stream run always has; `offset` gives a warm start fresh draws.
  auto seedStreams = [&](uint64_t offset) {
    const torch::Tensor afterInitialisation = torchRandomState();
    for (auto & stream : streams)
    {
      const uint64_t seed = streamSeed(options.seed, stream.index) + offset;
      stream.sampler.seed(seed);
      if (stream.index == 0 && offset == 0)
        stream.randomState = afterInitialisation;
      else
      {
        torch::manual_seed(seed);
        stream.randomState = torchRandomState();
      }
    }
    setTorchRandomState(afterInitialisation);
  };
  int64_t start = 0;
  if (resume)
  {
    if (!fs::exists(checkpointPath))
      throw CheckpointError("nothing to resume: '" + checkpointPath + "' does not exist");
    loadCheckpointInto(checkpointPath, network);
    network->to(device);
    loadOptimizerState(checkpointPath, optimizer);
    start = readCheckpointTensor(checkpointPath, "iteration").item<int64_t>();
    const torch::Tensor recordedStreams = readCheckpointTensor(checkpointPath, "pair_streams");
    const int64_t recorded = recordedStreams.defined() ? recordedStreams.item<int64_t>() : 1;
    if (recorded != streamCount)
      throw CheckpointError("'" + checkpointPath + "' was written by a run of " + std::to_string(recorded) +
                            " pairs per iteration (ranks x pairs_per_iteration); this one has " +
                            std::to_string(streamCount) + ": resume with the same");
    for (auto & stream : streams)
    {
      const torch::Tensor samplerBytes = readCheckpointTensor(checkpointPath, streamKey("sampler_state", stream.index));
      stream.randomState = readCheckpointTensor(checkpointPath, streamKey("torch_random_state", stream.index));
      if (!samplerBytes.defined() || !stream.randomState.defined())
        throw CheckpointError("'" + checkpointPath + "' has no random state for pair stream " +
                              std::to_string(stream.index));
      std::istringstream samplerState(tensorToBytes(samplerBytes));
      samplerState >> stream.sampler;
    }
    log << "resuming at iteration " << start << " from " << checkpointPath << "\n";
  }
  else if (!options.initialModel.empty())
  {
    std::string provenance;
    readCheckpointConfig(options.initialModel, &provenance);
    const std::string initialPreset = loadCompatibleWeightsInto(options.initialModel, network);
    network->to(device);
    const auto recorded = nlohmann::json::parse(provenance, nullptr, /*allow_exceptions=*/false);
    start = recorded.is_object() && recorded.contains("iterations")
              ? jsonInteger<int64_t>(recorded["iterations"], "the initial model's iterations")
              : 0;
    if (start >= options.iterations)
      throw std::invalid_argument("the initial model '" + options.initialModel + "' has " + std::to_string(start) +
                                  " iterations already; ask for more than that in total");
    // Fresh draws, not the first run's again.
    seedStreams(static_cast<uint64_t>(start));
    log << "starting from the weights of " << options.initialModel << " (" << initialPreset << ") at iteration "
        << start << " (a fresh optimiser state)\n";
  }
  else
    seedStreams(0);
  if (group)
  {
    // Every rank starts from rank 0's weights (its initialisation, checkpoint or initial model).
    torch::NoGradGuard noGrad;
    std::vector<torch::Tensor> flat;
    for (const auto & p : parameters)
      flat.push_back(p.detach().reshape({ -1 }));
    torch::Tensor weights = torch::cat(flat);
    group->broadcastFromRankZero(weights, "receiving rank 0's weights");
    copyFlatInto(weights, parameters, /*gradients=*/false);
  }
  std::ofstream csv;
  if (writer)
  {
    csv.open(logPath, resume ? std::ios::app : std::ios::trunc);
    if (!resume)
      csv << "iteration,split,total,similarity,smoothness,routing,moa_balance,moa_z,dice,seconds,dice_loss,"
             "learning_rate,brain_expert_shares,known_field\n";
    csv << std::setprecision(8);
  }

  TrainingResult result;
  const auto clock = std::chrono::steady_clock::now;
  const auto started = clock();
  auto elapsed = [&] { return std::chrono::duration<double>(clock() - started).count(); };
  auto writeRow = [&](int64_t iteration,
                      const char * split,
                      const LossValues & v,
                      double dice,
                      double learningRate,
                      const std::string & expertShares) {
    if (!writer)
      return;
    csv << iteration << "," << split << "," << v.total << "," << v.similarity << "," << v.smoothness << "," << v.routing
        << "," << v.moaLoadBalance << "," << v.moaRouterZ << ",";
    if (dice >= 0)
      csv << dice;
    csv << "," << elapsed() << "," << v.dice << ",";
    if (learningRate > 0)
      csv << learningRate;
    csv << "," << expertShares << "," << v.knownField << "\n";
    csv.flush();
  };
  auto validate = [&](int64_t iteration) {
    network->eval();
    torch::NoGradGuard noGrad;
    LossValues mean;
    double dice = 0.0, identity = 0.0;
    bool labelled = true;
    torch::Tensor expertVoxels, brainVoxels; // full-resolution SHMoE choices inside the fixed brain
    for (const auto & p : valPairs)
    {
      const auto & m = valSubjects[p.first];
      const auto & f = valSubjects[p.second];
      const RegistrationOutput out = network->forward(m.image, f.image);
      LabelMaps maps;
      if (!labelValues.empty())
        maps = labelMapsOf(valLabelIndex, p.first, p.second, -1);
      const KnownField known = knownFieldOfPair(m, f);
      const LossValues v = evaluateLoss(out,
                                        f.image,
                                        options.weights,
                                        labelValues.empty() ? nullptr : &maps,
                                        known.displacement.defined() ? &known : nullptr);
      mean.total += v.total / valPairs.size();
      mean.knownField += v.knownField / valPairs.size();
      mean.similarity += v.similarity / valPairs.size();
      mean.smoothness += v.smoothness / valPairs.size();
      mean.dice += v.dice / valPairs.size();
      if (!out.routing.empty())
      {
        const ExpertRouting & full = out.routing.back();
        const int64_t experts = full.gateLogits.size(2);
        const torch::Tensor brain = (f.image > 0.05).to(torch::kFloat32); // [1, 1, D, H, W]
        const torch::Tensor chosen =
          torch::one_hot(full.expertIds, experts).to(torch::kFloat32) * brain.unsqueeze(-1); // [1, 3, D, H, W, E]
        const torch::Tensor counts = chosen.sum({ 0, 2, 3, 4 }).cpu();                       // [3, E]
        expertVoxels = expertVoxels.defined() ? expertVoxels + counts : counts;
        brainVoxels = brainVoxels.defined() ? brainVoxels + brain.sum().cpu() : brain.sum().cpu();
      }
      labelled = labelled && m.labels.defined() && f.labels.defined();
      if (labelled)
      {
        dice += meanDice(warp(m.labels, out.displacement, Interpolation::Nearest), f.labels) / valPairs.size();
        identity += meanDice(m.labels, f.labels) / valPairs.size();
      }
    }
    network->train();
    // Per direction, the share of brain voxels that each expert predicts ("d0: a b c; d1: ...").
    std::ostringstream shares;
    if (expertVoxels.defined())
    {
      const torch::Tensor share = expertVoxels / brainVoxels.clamp_min(1.0);
      shares << std::setprecision(3);
      for (int64_t d = 0; d < share.size(0); ++d)
      {
        shares << (d ? "; " : "") << "d" << d << ":";
        for (int64_t e = 0; e < share.size(1); ++e)
          shares << " " << share[d][e].item<double>();
      }
    }
    writeRow(iteration, "val", mean, labelled ? dice : -1.0, -1.0, shares.str());
    log << "validation at " << iteration << ": loss " << mean.total;
    if (labelled)
      log << ", Dice " << dice << " (identity " << identity << ")";
    if (expertVoxels.defined())
      log << ", brain voxels per expert (full resolution) " << shares.str();
    log << "\n";
    result.identityDice = identity;
    result.lastValidationDice = dice;
    return mean.total;
  };
  auto provenanceAt = [&](int64_t iteration) {
    return nlohmann::json{
      { "training", options.toJson() },
      { "dataset", manifest.name },
      { kProvenanceVoxelMm, trainSubjects.front().voxelMm },
      { kProvenanceBoxCentre, options.boxCentre },
      { kProvenanceFieldOfViewMm,
        { trainSubjects.front().voxelMm[0] * options.grid[0],
          trainSubjects.front().voxelMm[1] * options.grid[1],
          trainSubjects.front().voxelMm[2] * options.grid[2] } },
      { "iterations", iteration },
      { "distributed_ranks", worldSize },
      { "validation_dice", result.lastValidationDice },
      { "validation_loss", result.lastValidationLoss }
    }.dump();
  };
  // A checkpoint carries what an exact resume needs: Adam's moments, and every pair stream's
  // sampler and random state (gathered from all ranks: a collective every rank enters).
  auto saveState = [&](int64_t iteration, const std::string & path) {
    std::vector<std::string> samplerStates(static_cast<size_t>(streamCount));
    std::vector<std::string> randomStates(static_cast<size_t>(streamCount));
    for (const auto & stream : streams)
    {
      std::ostringstream samplerState;
      samplerState << stream.sampler;
      samplerStates[static_cast<size_t>(stream.index)] = samplerState.str();
      randomStates[static_cast<size_t>(stream.index)] = tensorToBytes(stream.randomState);
    }
    if (group)
    {
      gatherStrings(*group, samplerStates, "gathering the samplers' states for the checkpoint");
      gatherStrings(*group, randomStates, "gathering the random states for the checkpoint");
    }
    if (!writer)
      return;
    std::vector<std::pair<std::string, torch::Tensor>> extra{ { "iteration", torch::tensor(iteration) },
                                                              { "pair_streams", torch::tensor(streamCount) } };
    for (int64_t g = 0; g < streamCount; ++g)
    {
      extra.emplace_back(streamKey("sampler_state", g), bytesToTensor(samplerStates[static_cast<size_t>(g)]));
      extra.emplace_back(streamKey("torch_random_state", g), bytesToTensor(randomStates[static_cast<size_t>(g)]));
    }
    saveCheckpoint(path, network, provenanceAt(iteration), extra, &optimizer);
  };
  // The ranks' weights, compared every iteration by an exact checksum (they must stay equal).
  auto checkIdenticalWeights = [&](torch::Tensor & exchanged, int64_t slot, int64_t iteration) {
    const auto a = exchanged.accessor<double, 1>();
    for (int r = 1; r < worldSize; ++r)
      for (int k = 0; k < 2; ++k)
        if (a[slot + 2 * r + k] != a[slot + k])
          throw DistributedError("rank " + std::to_string(r) + "'s weights differ from rank 0's after iteration " +
                                 std::to_string(iteration) + " (checksums " + std::to_string(a[slot + 2 * r + k]) +
                                 " and " + std::to_string(a[slot + k]) + ")");
  };
  // Distributed: sums this rank's loss values, stop request, which parameters have gradients and
  // its weights' checksum over the ranks, then averages the gradients in one bucket.
  auto synchronise = [&](LossValues & v, bool & stop, int64_t iteration) {
    const int64_t count = static_cast<int64_t>(parameters.size());
    const int64_t flags = 9, checksums = flags + count;
    torch::Tensor exchanged = torch::zeros({ checksums + 2 * worldSize }, torch::kFloat64);
    {
      auto a = exchanged.accessor<double, 1>();
      const std::array<double, 8> values{ v.total,          v.similarity, v.smoothness, v.routing,
                                          v.moaLoadBalance, v.moaRouterZ, v.dice,       v.knownField };
      for (size_t k = 0; k < values.size(); ++k)
        a[static_cast<int64_t>(k)] = values[k];
      a[8] = stop ? 1.0 : 0.0;
      for (int64_t i = 0; i < count; ++i)
        a[flags + i] = parameters[static_cast<size_t>(i)].grad().defined() ? 1.0 : 0.0;
      const auto sums = weightChecksums(parameters);
      a[checksums + 2 * rank] = sums.first;
      a[checksums + 2 * rank + 1] = sums.second;
    }
    group->sum(exchanged, "exchanging the losses at iteration " + std::to_string(iteration + 1));
    checkIdenticalWeights(exchanged, checksums, iteration);
    const auto a = exchanged.accessor<double, 1>();
    v = LossValues{};
    v.total = a[0], v.similarity = a[1], v.smoothness = a[2], v.routing = a[3];
    v.moaLoadBalance = a[4], v.moaRouterZ = a[5], v.dice = a[6], v.knownField = a[7];
    stop = a[8] > 0.0;
    std::vector<torch::Tensor> withGradients;
    for (int64_t i = 0; i < count; ++i)
      if (a[flags + i] > 0.0)
      {
        torch::Tensor p = parameters[static_cast<size_t>(i)];
        if (!p.grad().defined())
          p.mutable_grad() = torch::zeros_like(p);
        withGradients.push_back(p);
      }
    if (withGradients.empty())
      return;
    std::vector<torch::Tensor> flat;
    for (const auto & p : withGradients)
      flat.push_back(p.grad().reshape({ -1 }));
    torch::Tensor bucket = torch::cat(flat);
    group->sum(bucket, "averaging the gradients at iteration " + std::to_string(iteration + 1));
    bucket.div_(static_cast<double>(streamCount));
    copyFlatInto(bucket, withGradients, /*gradients=*/true);
  };

  if (!resume && writer)
    result.firstValidationLoss = result.lastValidationLoss = validate(start);
  StopSignalGuard stopGuard;
  network->train();
  int64_t done = start;
  const auto loopStarted = clock();
  for (int64_t iteration = start; iteration < options.iterations; ++iteration)
  {
    const double learningRate = scheduledLearningRate(options, iteration);
    for (auto & parameterGroup : optimizer.param_groups())
      static_cast<torch::optim::AdamOptions &>(parameterGroup.options()).lr(learningRate);
    optimizer.zero_grad();
    LossValues v; // summed over this rank's pairs, then averaged over all pairs of the iteration
    for (auto & stream : streams)
    {
      setTorchRandomState(stream.randomState);
      const auto & pair = trainPairs[stream.pairs[stream.sampler() % stream.pairs.size()]];
      const auto & m = trainSubjects[pair.first];
      const auto & f = trainSubjects[pair.second];
      LabelMaps maps;
      if (!labelValues.empty())
        maps = labelMapsOf(trainLabelIndex, pair.first, pair.second, iteration);
      const KnownField known = knownFieldOfPair(m, f);
      const LossValues one = backwardTotalLoss(network->forward(m.image, f.image),
                                               f.image,
                                               options.weights,
                                               labelValues.empty() ? nullptr : &maps,
                                               known.displacement.defined() ? &known : nullptr);
      stream.randomState = torchRandomState();
      addLossValues(v, one, 1.0);
    }
    bool stop = g_stopRequested;
    if (group)
      synchronise(v, stop, iteration);
    else if (streamCount > 1)
    {
      torch::NoGradGuard noGrad;
      for (const auto & p : parameters)
        if (p.grad().defined())
          p.grad().div_(static_cast<double>(streamCount));
    }
    LossValues mean;
    addLossValues(mean, v, 1.0 / static_cast<double>(streamCount));
    v = mean;
    optimizer.step();
    done = iteration + 1;
    writeRow(done, "train", v, -1.0, learningRate, "");
    const bool last = done == options.iterations;
    if (done % options.logInterval == 0 || last)
    {
      const double rate = (done - start) / std::max(1e-9, std::chrono::duration<double>(clock() - loopStarted).count());
      log << "iter " << done << "/" << options.iterations << " | loss " << v.total << " (sim " << v.similarity
          << ", smooth " << v.smoothness << ", rc " << v.routing << ", dice " << v.dice << ", lr " << learningRate
          << ") | " << std::setprecision(3) << rate << " it/s | ETA "
          << formatDuration((options.iterations - done) / std::max(rate, 1e-9)) << std::setprecision(6) << "\n";
      log.flush();
    }
    if (writer && (done % options.validationInterval == 0 || last))
      result.lastValidationLoss = validate(done);
    if (done % options.checkpointInterval == 0 || last || stop)
      saveState(done, checkpointPath);
    if (stop)
    {
      log << "stopped at iteration " << done << "; checkpoint written to " << checkpointPath
          << " (continue with --resume)\n";
      result.interrupted = true;
      break;
    }
  }
  if (group)
  {
    // The last step's weights, compared as every earlier step's were.
    torch::Tensor exchanged = torch::zeros({ 2 * worldSize }, torch::kFloat64);
    const auto sums = weightChecksums(parameters);
    exchanged[2 * rank] = sums.first;
    exchanged[2 * rank + 1] = sums.second;
    group->sum(exchanged, "comparing the final weights");
    checkIdenticalWeights(exchanged, 0, done);
    log << "distributed: the weights of the " << worldSize
        << " ranks were identical after every iteration (exact checksums compared each step)\n";
  }
  if (writer && !result.interrupted && done == options.iterations)
  {
    // The model alone (a third of a checkpoint: no Adam moments), as users load it.
    saveCheckpoint((fs::path(options.output) / "model.pt").string(), network, provenanceAt(done));
    log << "trained " << done << " iterations in " << formatDuration(elapsed()) << "; model written to "
        << (fs::path(options.output) / "model.pt").string() << "\n";
  }
  result.iterations = done;
  return result;
}

} // namespace shmoareg::training
