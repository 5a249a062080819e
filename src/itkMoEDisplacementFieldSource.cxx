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
#include "itkMoEDisplacementFieldSource.h"

#include "itkImageRegionConstIterator.h"

#include <chrono>
#include <cmath>

namespace itk {

namespace {
constexpr unsigned int kFirstExpertMapOutput = 1;
constexpr unsigned int kGateProbabilityOutput = 4;
constexpr unsigned int kInverseFieldOutput = 5;

void
checkNetworkInput(const SHMoARegNetworkGrid::ImageType * image, const char * name)
{
  const auto region = image->GetLargestPossibleRegion();
  if (region.GetNumberOfPixels() == 0)
  {
    itkGenericExceptionMacro(<< name << " is empty");
  }
  ImageRegionConstIterator<SHMoARegNetworkGrid::ImageType> it(image, image->GetBufferedRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    if (!std::isfinite(it.Get()))
    {
      itkGenericExceptionMacro(<< name << " has NaN or infinite voxels");
    }
  }
}
} // namespace

MoEDisplacementFieldSource::MoEDisplacementFieldSource()
{
  this->SetPrimaryInputName("FixedImage");
  this->AddRequiredInputName("MovingImage", 1);
  this->AddOptionalInputName("FixedMask", 2);
  this->AddOptionalInputName("MovingMask", 3);
  this->SetNumberOfRequiredOutputs(kInverseFieldOutput + 1);
  for (unsigned int i = 1; i <= kInverseFieldOutput; ++i)
  {
    this->SetNthOutput(i, this->MakeOutput(i));
  }
}

DataObject::Pointer
MoEDisplacementFieldSource::MakeOutput(DataObjectPointerArraySizeType index)
{
  if (index >= kFirstExpertMapOutput && index < kGateProbabilityOutput)
  {
    return ExpertMapType::New().GetPointer();
  }
  if (index == kGateProbabilityOutput)
  {
    return GateProbabilityImageType::New().GetPointer();
  }
  return Superclass::MakeOutput(index); // the field, and its inverse (output 5)
}

MoEDisplacementFieldSource::ExpertMapType *
MoEDisplacementFieldSource::GetExpertMap(unsigned int direction)
{
  if (direction > 2)
  {
    itkExceptionMacro(<< "direction must be 0, 1 or 2, got " << direction);
  }
  return dynamic_cast<ExpertMapType *>(this->ProcessObject::GetOutput(kFirstExpertMapOutput + direction));
}

MoEDisplacementFieldSource::GateProbabilityImageType *
MoEDisplacementFieldSource::GetGateProbabilities()
{
  return m_ComputeGateProbabilities
           ? dynamic_cast<GateProbabilityImageType *>(this->ProcessObject::GetOutput(kGateProbabilityOutput))
           : nullptr;
}

MoEDisplacementFieldSource::DisplacementFieldType *
MoEDisplacementFieldSource::GetInverseDisplacementField()
{
  return m_HasInverseDisplacementField ? this->GetOutput(kInverseFieldOutput) : nullptr;
}

void
MoEDisplacementFieldSource::GenerateOutputInformation()
{
  Superclass::GenerateOutputInformation(); // field geometry from the fixed image
  const NetworkImageType * fixed = this->GetFixedImage();
  for (unsigned int i = 1; i <= kInverseFieldOutput; ++i)
  {
    auto * output = dynamic_cast<ImageBase<3> *>(this->ProcessObject::GetOutput(i));
    output->CopyInformation(fixed);
  }
  const unsigned int experts = m_Model ? m_Model->GetNumberOfExperts() : 0;
  auto * probabilities =
    dynamic_cast<GateProbabilityImageType *>(this->ProcessObject::GetOutput(kGateProbabilityOutput));
  // One placeholder component unless the probabilities are asked for.
  probabilities->SetNumberOfComponentsPerPixel(m_ComputeGateProbabilities && experts > 0 ? 3 * experts : 1u);
}

void
MoEDisplacementFieldSource::GenerateInputRequestedRegion()
{
  // The network sees the whole image.
  Superclass::GenerateInputRequestedRegion();
  for (const char * name : { "FixedImage", "MovingImage" })
  {
    auto * input =
      const_cast<NetworkImageType *>(static_cast<const NetworkImageType *>(this->ProcessObject::GetInput(name)));
    if (input)
    {
      input->SetRequestedRegionToLargestPossibleRegion();
    }
  }
}

void
MoEDisplacementFieldSource::EnlargeOutputRequestedRegion(DataObject * output)
{
  Superclass::EnlargeOutputRequestedRegion(output);
  output->SetRequestedRegionToLargestPossibleRegion();
}

void
MoEDisplacementFieldSource::GenerateData()
{
  if (!m_Model || !m_Model->IsLoaded())
  {
    itkExceptionMacro(<< "no model: call SetModel with a loaded SHMoARegModel");
  }
  const NetworkImageType * fixed = this->GetFixedImage();
  const NetworkImageType * moving = this->GetMovingImage();
  checkNetworkInput(fixed, "the fixed image");
  checkNetworkInput(moving, "the moving image");
  if (fixed->GetLargestPossibleRegion() != moving->GetLargestPossibleRegion())
  {
    itkExceptionMacro(<< "fixed and moving images must share the network grid: sizes "
                      << fixed->GetLargestPossibleRegion().GetSize() << " and "
                      << moving->GetLargestPossibleRegion().GetSize());
  }
  if (m_Model->GetNumberOfInputChannels() != 1)
  {
    itkExceptionMacro(<< "the model expects " << m_Model->GetNumberOfInputChannels()
                      << " channels per image; this filter gives it one (a scalar image)");
  }
  this->UpdateProgress(0.0f);
  const bool refine = !m_RefinementSettings.Levels.empty();
  SHMoARegModel::Prediction prediction = m_Model->Predict(fixed,
                                                          moving,
                                                          m_ComputeGateProbabilities,
                                                          m_InstanceOptimizationSettings,
                                                          this->GetFixedMask(),
                                                          this->GetMovingMask(),
                                                          m_ComputeInverseDisplacementField && !refine,
                                                          m_Device,
                                                          m_NumberOfNetworkPasses);
  m_NetworkSeconds = prediction.Seconds;
  m_InstanceOptimizationSeconds = prediction.RefinementSeconds;
  m_RefinementReport.clear();
  m_RefinementSeconds = 0.0;
  if (refine)
  {
    this->UpdateProgress(0.5f);
    const auto refinementStart = std::chrono::steady_clock::now();
    prediction.VoxelDisplacement =
      m_Model->Refine(fixed,
                      moving,
                      prediction.VoxelDisplacement,
                      m_RefinementSettings,
                      this->GetFixedMask(),
                      this->GetMovingMask(),
                      nullptr,
                      m_Device,
                      [this](const ModelType::RefinementLevelReport & level) {
                        // Live per level: report, progress, IterationEvent.
                        m_RefinementReport.push_back(level);
                        this->UpdateProgress(0.5f + 0.5f * static_cast<float>(m_RefinementReport.size()) /
                                                      static_cast<float>(m_RefinementSettings.Levels.size()));
                        this->InvokeEvent(IterationEvent());
                      });
    m_RefinementSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - refinementStart).count();
  }

  auto physical = SHMoARegNetworkGrid::VoxelToPhysical(prediction.VoxelDisplacement);
  this->GraftOutput(physical);
  for (unsigned int d = 0; d < 3; ++d)
  {
    ExpertMapType * map = this->GetExpertMap(d);
    if (!prediction.ExpertMaps.empty())
    {
      map->Graft(prediction.ExpertMaps[d]);
    }
    else
    {
      map->SetBufferedRegion(map->GetLargestPossibleRegion());
      map->Allocate(true);
    }
  }
  DisplacementFieldType * inverse = this->GetOutput(kInverseFieldOutput);
  m_HasInverseDisplacementField = static_cast<bool>(prediction.InverseVoxelDisplacement);
  if (m_HasInverseDisplacementField)
  {
    inverse->Graft(SHMoARegNetworkGrid::VoxelToPhysical(prediction.InverseVoxelDisplacement));
  }
  else
  {
    inverse->SetBufferedRegion(DisplacementFieldType::RegionType()); // not asked for, or not exact
    inverse->Allocate();
  }
  auto * probabilities =
    dynamic_cast<GateProbabilityImageType *>(this->ProcessObject::GetOutput(kGateProbabilityOutput));
  if (prediction.GateProbabilities)
  {
    probabilities->Graft(prediction.GateProbabilities);
  }
  else
  {
    probabilities->SetBufferedRegion(probabilities->GetLargestPossibleRegion());
    probabilities->Allocate(true);
  }
  this->UpdateProgress(1.0f);
}

void
MoEDisplacementFieldSource::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "Model: " << (m_Model ? m_Model->GetPresetName() : std::string("(none)")) << std::endl;
  os << indent << "Device: " << (m_Device.empty() ? std::string("(the model's)") : m_Device) << std::endl;
  os << indent << "ComputeGateProbabilities: " << m_ComputeGateProbabilities << std::endl;
  os << indent << "ComputeInverseDisplacementField: " << m_ComputeInverseDisplacementField << std::endl;
  os << indent << "NetworkSeconds: " << m_NetworkSeconds << std::endl;
  os << indent << "NumberOfNetworkPasses: " << m_NumberOfNetworkPasses << std::endl;
  os << indent << "InstanceOptimizationSettings: " << m_InstanceOptimizationSettings << std::endl;
  os << indent << "InstanceOptimizationSeconds: " << m_InstanceOptimizationSeconds << std::endl;
  os << indent << "RefinementLevels: " << m_RefinementSettings.Levels.size() << " (similarity "
     << m_RefinementSettings.Similarity << ")" << std::endl;
  os << indent << "RefinementSeconds: " << m_RefinementSeconds << std::endl;
}

} // namespace itk
