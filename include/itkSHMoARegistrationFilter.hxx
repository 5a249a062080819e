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
#ifndef itkSHMoARegistrationFilter_hxx
#define itkSHMoARegistrationFilter_hxx

#include "itkSHMoARegistrationFilter.h"

#include "itkCastImageFilter.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkVectorLinearInterpolateImageFunction.h"
#include "itkNearestNeighborExtrapolateImageFunction.h"
#include "itkNearestNeighborInterpolateImageFunction.h"
#include "itkResampleImageFilter.h"
#include "itkSHMoARegDisplacementFields.h"
#include "itkSHMoARegImageGrid.h"
#include "itkWarpImageFilter.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace itk {

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::SHMoARegistrationFilter()
{
  this->SetPrimaryInputName("FixedImage");
  this->AddRequiredInputName("MovingImage", 1);
  this->AddOptionalInputName("MovingLabelImage", 2);
  this->AddOptionalInputName("FixedMask", 3);
  this->AddOptionalInputName("MovingMask", 4);
  this->AddOptionalInputName("InitialDisplacementField", 5);
  this->SetNumberOfRequiredOutputs(4);
  this->SetNthOutput(1, this->MakeOutput(1));
  this->SetNthOutput(2, this->MakeOutput(2));
  this->SetNthOutput(3, this->MakeOutput(3));
  m_NetworkGridSize.Fill(0);
  m_NetworkGridSpacing.Fill(0.0);
  m_NetworkFieldOfView.Fill(0.0);
  m_UsedNetworkGridSize.Fill(0);
  m_UsedNetworkFieldOfView.Fill(0.0);
  m_NetworkSource = NetworkSourceType::New();
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
DataObject::Pointer
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::MakeOutput(
  DataObjectPointerArraySizeType index)
{
  if (index == 1)
  {
    return WarpedImageType::New().GetPointer();
  }
  if (index == 2)
  {
    return LabelImageType::New().GetPointer();
  }
  if (index == 3)
  {
    return DisplacementFieldType::New().GetPointer();
  }
  return Superclass::MakeOutput(index);
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
auto
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::GetWarpedImage()
  -> WarpedImageType *
{
  return dynamic_cast<WarpedImageType *>(this->ProcessObject::GetOutput(1));
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
auto
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::GetWarpedLabelImage()
  -> LabelImageType *
{
  return dynamic_cast<LabelImageType *>(this->ProcessObject::GetOutput(2));
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
auto
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::GetInverseDisplacementField()
  -> DisplacementFieldType *
{
  return itkDynamicCastInDebugMode<DisplacementFieldType *>(this->ProcessObject::GetOutput(3));
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
void
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::GenerateOutputInformation()
{
  Superclass::GenerateOutputInformation(); // outputs on the fixed grid
  // The inverse lies on the moving image's grid.
  if (const MovingImageType * moving = this->GetMovingImage())
  {
    DisplacementFieldType * inverse = this->GetInverseDisplacementField();
    inverse->CopyInformation(moving);
    inverse->SetLargestPossibleRegion(moving->GetLargestPossibleRegion());
  }
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
void
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  for (const auto & name : this->GetInputNames())
  {
    if (auto * input = dynamic_cast<ImageBase<ImageDimension> *>(this->ProcessObject::GetInput(name)))
    {
      input->SetRequestedRegionToLargestPossibleRegion();
    }
  }
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
void
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::GenerateOutputRequestedRegion(
  DataObject *)
{
  // Outputs lie on two grids (fixed; moving for the inverse): each is produced whole.
  for (const auto & name : this->GetOutputNames())
  {
    this->ProcessObject::GetOutput(name)->SetRequestedRegionToLargestPossibleRegion();
  }
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
void
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::EnlargeOutputRequestedRegion(
  DataObject * output)
{
  Superclass::EnlargeOutputRequestedRegion(output);
  output->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
void
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::VerifyInputInformation() const
{
  // Fixed and moving grids may differ (the moving image is sampled in physical space), so the
  // base class's same-grid check does not apply. Labels must lie on the moving image's grid.
  const LabelImageType * labels = this->GetMovingLabelImage();
  const MovingImageType * moving = this->GetMovingImage();
  if (labels && moving)
  {
    const std::string difference = SHMoARegImageGrid::DescribeGridDifference<ImageDimension>(labels, moving);
    if (!difference.empty())
    {
      itkExceptionMacro(<< "the moving label image must lie on the moving image's grid (labels vs moving image: "
                        << difference << ")");
    }
  }
}

namespace shmoareg_detail {
template <typename TImage>
void
CheckRegistrationInput(const TImage * image, const char * name)
{
  if (image->GetLargestPossibleRegion().GetNumberOfPixels() == 0)
  {
    itkGenericExceptionMacro(<< "the " << name << " is empty");
  }
  if (!NumericTraits<typename TImage::PixelType>::is_integer)
  {
    ImageRegionConstIterator<TImage> it(image, image->GetLargestPossibleRegion());
    for (; !it.IsAtEnd(); ++it)
    {
      if (!std::isfinite(static_cast<double>(it.Get())))
      {
        itkGenericExceptionMacro(<< "the " << name << " has NaN or infinite voxels (first at index " << it.GetIndex()
                                 << ")");
      }
    }
  }
}
} // namespace shmoareg_detail

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
auto
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::ResolveModel() -> const ModelType *
{
  if (m_Model)
  {
    return m_Model; // shared: the device is an argument of each prediction, never set on it
  }
  if (m_ModelFileName.empty())
  {
    itkExceptionMacro(<< "no model: call SetModel or SetModelFileName");
  }
  if (!m_LoadedModel || m_LoadedModelFileName != m_ModelFileName)
  {
    auto model = ModelType::New();
    model->SetDevice(m_Device);
    model->LoadFromFile(m_ModelFileName);
    m_LoadedModel = model;
    m_LoadedModelFileName = m_ModelFileName;
  }
  m_LoadedModel->SetDevice(m_Device);
  return m_LoadedModel;
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
unsigned long
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::ForwardProgress(
  ProcessObject * internal,
  float start,
  float end)
{
  return internal->AddObserver(ProgressEvent(), [this, internal, start, end](const EventObject &) {
    this->UpdateProgress(start + (end - start) * internal->GetProgress());
    if (this->GetAbortGenerateData())
    {
      internal->AbortGenerateDataOn();
    }
  });
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
void
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::CheckAbort()
{
  if (this->GetAbortGenerateData())
  {
    ProcessAborted aborted(__FILE__, __LINE__);
    aborted.SetDescription("SHMoARegistrationFilter was aborted");
    throw aborted;
  }
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
auto
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::MakeNetworkGrid(
  const ModelType * model) -> typename SHMoARegNetworkGrid::ImageType::Pointer
{
  const FixedImageType * fixed = this->GetFixedImage();
  auto given = [](const auto & triple) { return triple[0] != 0 || triple[1] != 0 || triple[2] != 0; };
  // The box: the user's, else the model's training field of view (zeros: the whole extent).
  SpacingType fieldOfView;
  fieldOfView.Fill(0.0);
  if (!m_NetworkGridOverWholeImage)
  {
    fieldOfView = given(m_NetworkFieldOfView) ? m_NetworkFieldOfView : model->GetTrainingFieldOfView();
  }
  // Its voxels: the user's size, else from a voxel size (the user's, else the model's training
  // one), else 128^3, the paper's grid.
  const SpacingType trained = model->GetTrainingVoxelSpacing();
  if (given(m_NetworkGridSize))
  {
    m_UsedNetworkGridSize = m_NetworkGridSize; // MakeGrid rejects a zero axis with a message
  }
  else if (given(m_NetworkGridSpacing))
  {
    m_UsedNetworkGridSize = SHMoARegNetworkGrid::GridSizeForSpacing(fixed, m_NetworkGridSpacing, fieldOfView);
  }
  else if (trained[0] > 0.0 && trained[1] > 0.0 && trained[2] > 0.0)
  {
    m_UsedNetworkGridSize = SHMoARegNetworkGrid::GridSizeForSpacing(fixed, trained, fieldOfView);
  }
  else
  {
    m_UsedNetworkGridSize.Fill(128);
  }
  // The box where the model saw it in training: on the image's extent or on its foreground.
  const bool onForeground =
    !m_NetworkGridOverWholeImage && fieldOfView[0] > 0.0 && model->GetTrainingBoxCentre() == "foreground";
  auto grid = onForeground ? SHMoARegNetworkGrid::MakeGrid(
                               fixed, m_UsedNetworkGridSize, fieldOfView, SHMoARegNetworkGrid::ForegroundCentre(fixed))
                           : SHMoARegNetworkGrid::MakeGrid(fixed, m_UsedNetworkGridSize, fieldOfView);
  for (unsigned int a = 0; a < ImageDimension; ++a)
  {
    m_UsedNetworkFieldOfView[a] = grid->GetSpacing()[a] * static_cast<double>(m_UsedNetworkGridSize[a]);
  }
  return grid;
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
void
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::GenerateData()
{
  const FixedImageType * fixed = this->GetFixedImage();
  const MovingImageType * moving = this->GetMovingImage();
  shmoareg_detail::CheckRegistrationInput(fixed, "fixed image");
  shmoareg_detail::CheckRegistrationInput(moving, "moving image");
  const ModelType * model = this->ResolveModel();

  this->UpdateProgress(0.0f);
  const LabelImageType * labels = this->GetMovingLabelImage();
  // Progress weights: the network dominates; the warps share the last tenth.
  const float warpWeight = labels ? 0.05f : 0.1f;

  const auto initial = this->MakeInitialTransform();
  const bool refine = !m_RefinementSettings.Levels.empty();
  typename NetworkFieldType::Pointer physical; // fixed -> moving (through t0), mm, on the fixed grid
  if (m_StartFromIdentity)
  {
    physical = NetworkFieldType::New();
    physical->CopyInformation(fixed);
    physical->SetRegions(fixed->GetLargestPossibleRegion());
    physical->Allocate();
    physical->FillBuffer(typename NetworkFieldType::PixelType(0.0f));
  }
  else
  {
    // 1-2. Both images onto the network grid, intensities to [0, 1].
    const auto grid = this->MakeNetworkGrid(model);
    const auto fixedOnGrid = SHMoARegNetworkGrid::PrepareNetworkInput(fixed, grid);
    this->UpdateProgress(0.05f);
    this->CheckAbort();
    const auto movingOnGrid = SHMoARegNetworkGrid::PrepareNetworkInput(moving, grid, initial.GetPointer());
    this->UpdateProgress(0.1f);
    this->CheckAbort();

    // 3. The network: a physical field on the network grid.
    m_NetworkSource->SetModel(model);
    m_NetworkSource->SetDevice(m_Device);
    m_NetworkSource->SetFixedImage(fixedOnGrid);
    m_NetworkSource->SetMovingImage(movingOnGrid);
    m_NetworkSource->SetFixedMask(
      this->GetFixedMask() ? this->MaskOnNetworkGrid(this->GetFixedMask(), grid, "fixed").GetPointer() : nullptr);
    m_NetworkSource->SetMovingMask(
      this->GetMovingMask() ? this->MaskOnNetworkGrid(this->GetMovingMask(), grid, "moving").GetPointer() : nullptr);
    m_NetworkSource->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
    m_NetworkSource->SetNumberOfNetworkPasses(m_NumberOfNetworkPasses);
    m_NetworkSource->SetInstanceOptimizationSettings(m_InstanceOptimizationSettings);
    m_NetworkSource->SetComputeInverseDisplacementField(m_ComputeInverseDisplacementField && m_UseExactInverse &&
                                                        model->IsDiffeomorphic() && !refine);
    const float networkEnd = refine ? 0.3f : 0.8f;
    const unsigned long networkObserver = this->ForwardProgress(m_NetworkSource, 0.1f, networkEnd);
    m_NetworkSource->Update();
    m_NetworkSource->RemoveObserver(networkObserver); // the source outlives this update
    this->CheckAbort();

    // 4. The field onto the fixed grid.
    using FieldResampler = ResampleImageFilter<NetworkFieldType, NetworkFieldType>;
    auto resampleField = FieldResampler::New();
    resampleField->SetInput(m_NetworkSource->GetDisplacementField());
    // The default linear interpolator interpolates each vector component; past the network
    // grid's box (a field of view smaller than the image) the border value, as the inverse.
    resampleField->SetExtrapolator(NearestNeighborExtrapolateImageFunction<NetworkFieldType, double>::New());
    resampleField->SetOutputParametersFromImage(fixed);
    resampleField->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
    this->ForwardProgress(resampleField, networkEnd, networkEnd + 0.05f);
    resampleField->Update();
    physical = resampleField->GetOutput();
    physical->DisconnectPipeline();
  }
  m_RefinementReport.clear();
  m_RefinementSeconds = 0.0;
  if (refine)
  {
    // 5. Multi-level refinement on the fixed image's extent, from the network's field.
    this->CheckAbort();
    const auto refinementStart = std::chrono::steady_clock::now();
    const auto fixedImage = SHMoARegNetworkGrid::PrepareNetworkInput(fixed, fixed);
    const auto movingImage = SHMoARegNetworkGrid::PrepareNetworkInput(moving, fixed, initial.GetPointer());
    const auto fixedMask =
      this->GetFixedMask() ? this->MaskOnNetworkGrid(this->GetFixedMask(), fixed, "fixed") : nullptr;
    const auto movingMask =
      this->GetMovingMask() ? this->MaskOnNetworkGrid(this->GetMovingMask(), fixed, "moving") : nullptr;
    // Each level, as it ends: its report, progress, an IterationEvent (live per-level lines in
    // the CLI), and a chance to abort.
    const float levels = static_cast<float>(m_RefinementSettings.Levels.size());
    const auto levelDone = [this, levels](const typename ModelType::RefinementLevelReport & level) {
      m_RefinementReport.push_back(level);
      this->UpdateProgress(0.3f + 0.55f * static_cast<float>(m_RefinementReport.size()) / levels);
      this->InvokeEvent(IterationEvent());
      this->CheckAbort();
    };
    const auto refined = model->Refine(fixedImage,
                                       movingImage,
                                       SHMoARegNetworkGrid::PhysicalToVoxel(physical),
                                       m_RefinementSettings,
                                       fixedMask.GetPointer(),
                                       movingMask.GetPointer(),
                                       nullptr,
                                       m_Device,
                                       levelDone);
    this->UpdateProgress(0.85f);
    physical = SHMoARegNetworkGrid::VoxelToPhysical(refined);
    m_RefinementSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - refinementStart).count();
  }
  auto castField = CastImageFilter<NetworkFieldType, DisplacementFieldType>::New();
  castField->SetInput(physical);
  castField->Update();
  typename DisplacementFieldType::Pointer field = castField->GetOutput();
  field->DisconnectPipeline();
  m_DeformableDisplacementField = nullptr;
  if (initial)
  {
    // x -> t0(x + w(x)): the network registered the moving image as seen through t0; w is kept.
    m_DeformableDisplacementField = field;
    field = SHMoARegDisplacementFields::FollowedBy(field.GetPointer(), initial.GetPointer());
  }
  this->GraftOutput(field);
  this->CheckAbort();

  // The moving image (linear) and labels (nearest) warped by the field, on the fixed grid.
  auto warpImage = WarpImageFilter<MovingImageType, WarpedImageType, DisplacementFieldType>::New();
  warpImage->SetInput(moving);
  warpImage->SetDisplacementField(field);
  warpImage->SetOutputParametersFromImage(fixed);
  warpImage->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
  this->ForwardProgress(warpImage, 0.9f, 0.9f + warpWeight);
  warpImage->GraftOutput(this->GetWarpedImage());
  warpImage->Update();
  this->GetWarpedImage()->Graft(warpImage->GetOutput());

  if (labels)
  {
    this->CheckAbort();
    auto warpLabels = WarpImageFilter<LabelImageType, LabelImageType, DisplacementFieldType>::New();
    warpLabels->SetInput(labels);
    warpLabels->SetDisplacementField(field);
    warpLabels->SetInterpolator(NearestNeighborInterpolateImageFunction<LabelImageType, double>::New());
    warpLabels->SetOutputParametersFromImage(fixed);
    warpLabels->SetNumberOfWorkUnits(this->GetNumberOfWorkUnits());
    this->ForwardProgress(warpLabels, 0.95f, 1.0f);
    warpLabels->GraftOutput(this->GetWarpedLabelImage());
    warpLabels->Update();
    this->GetWarpedLabelImage()->Graft(warpLabels->GetOutput());
  }
  if (m_ComputeInverseDisplacementField)
  {
    this->CheckAbort();
    this->InvertOnMovingGrid(field, moving, initial);
  }
  else
  {
    // Not asked for: an empty buffer, not a moving-sized one.
    DisplacementFieldType * inverse = this->GetInverseDisplacementField();
    inverse->SetBufferedRegion(typename DisplacementFieldType::RegionType());
    inverse->Allocate();
  }
  this->UpdateProgress(1.0f);
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
auto
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::MakeInitialTransform() const ->
  typename InitialTransformType::ConstPointer
{
  const DisplacementFieldType * initialField = this->GetInitialDisplacementField();
  if (initialField && m_InitialTransform)
  {
    itkExceptionMacro(<< "give an initial transform or an initial displacement field, not both");
  }
  if (m_InitialTransform)
  {
    return m_InitialTransform;
  }
  if (initialField == nullptr)
  {
    return nullptr;
  }
  return SHMoARegDisplacementFields::ToTransform(initialField).GetPointer();
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
SHMoARegNetworkGrid::ImageType::Pointer
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::MaskOnNetworkGrid(
  const MaskImageType * mask,
  const ImageBase<ImageDimension> * grid,
  const char * which) const
{
  auto onGrid = SHMoARegNetworkGrid::MaskOnGrid<SHMoARegNetworkGrid::ImageType>(mask, grid);
  if (!onGrid)
  {
    itkExceptionMacro(<< "the " << which << " mask does not overlap the image: no voxel of it lies in the " << which
                      << " image's network grid");
  }
  return onGrid;
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
void
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::InvertOnMovingGrid(
  const DisplacementFieldType * field,
  const MovingImageType * moving,
  const InitialTransformType * initial)
{
  m_InverseIsExact = this->ExactInverseOnMovingGrid(field, moving, initial);
  if (m_InverseIsExact)
  {
    return;
  }
  // The forward field sampled on the moving grid (zero outside the fixed extent), then inverted
  // there by fixed-point iteration.
  const auto inversion = SHMoARegDisplacementFields::Invert(
    field, moving, m_InverseMaximumNumberOfIterations, m_InverseTolerance, this->GetNumberOfWorkUnits());
  m_InverseMaximumResidual = inversion.MaximumResidual;
  m_InverseMeanResidual = inversion.MeanResidual;
  this->GetInverseDisplacementField()->Graft(inversion.Inverse);
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
bool
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::ExactInverseOnMovingGrid(
  const DisplacementFieldType * field,
  const MovingImageType * moving,
  const InitialTransformType * initial)
{
  if (m_StartFromIdentity || !m_RefinementSettings.Levels.empty())
  {
    return false; // the network's inverse is not the refined field's
  }
  const NetworkFieldType * networkInverse = m_NetworkSource->GetInverseDisplacementField();
  if (networkInverse == nullptr)
  {
    return false;
  }
  typename InitialTransformType::InverseTransformBasePointer initialInverse;
  if (initial)
  {
    initialInverse = initial->GetInverseTransform();
    if (!initialInverse)
    {
      return false; // e.g. a displacement field without its inverse
    }
  }
  // y -> z = t0^-1(y) -> z + w(z), w the network's inverse (mm on the network grid; outside it
  // the nearest border value, as the network's own warps extend fields).
  auto inverseAt = VectorLinearInterpolateImageFunction<NetworkFieldType, double>::New();
  inverseAt->SetInputImage(networkInverse);
  auto forwardAt = VectorLinearInterpolateImageFunction<DisplacementFieldType, double>::New();
  forwardAt->SetInputImage(field);
  const auto networkRegion = networkInverse->GetLargestPossibleRegion();
  DisplacementFieldType * inverse = this->GetInverseDisplacementField();
  inverse->SetBufferedRegion(inverse->GetLargestPossibleRegion());
  inverse->Allocate();
  double largest = 0.0, sum = 0.0;
  SizeValueType counted = 0;
  ImageRegionIteratorWithIndex<DisplacementFieldType> it(inverse, inverse->GetBufferedRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    typename InitialTransformType::InputPointType y;
    moving->TransformIndexToPhysicalPoint(it.GetIndex(), y);
    const auto z = initialInverse ? initialInverse->TransformPoint(y) : y;
    ContinuousIndex<double, ImageDimension> inNetwork;
    networkInverse->TransformPhysicalPointToContinuousIndex(z, inNetwork);
    for (unsigned int a = 0; a < ImageDimension; ++a)
    {
      const double first = static_cast<double>(networkRegion.GetIndex(a));
      const double last = first + static_cast<double>(networkRegion.GetSize(a)) - 1.0;
      inNetwork[a] = std::min(std::max(inNetwork[a], first), last);
    }
    const auto w = inverseAt->EvaluateAtContinuousIndex(inNetwork);
    typename DisplacementFieldType::PixelType v;
    typename InitialTransformType::InputPointType mapped;
    for (unsigned int a = 0; a < ImageDimension; ++a)
    {
      mapped[a] = z[a] + w[a];
      v[a] = static_cast<typename DisplacementFieldType::PixelType::ValueType>(mapped[a] - y[a]);
    }
    it.Set(v);
    // The residual |u(y + v(y)) + v(y)| where y + v(y) lies between the fixed grid's voxel
    // centres (outside them linear interpolation extends u as a constant).
    ContinuousIndex<double, ImageDimension> inFixed;
    field->TransformPhysicalPointToContinuousIndex(mapped, inFixed);
    bool between = true;
    for (unsigned int a = 0; a < ImageDimension; ++a)
    {
      const double first = static_cast<double>(field->GetLargestPossibleRegion().GetIndex(a));
      between = between && inFixed[a] >= first &&
                inFixed[a] <= first + static_cast<double>(field->GetLargestPossibleRegion().GetSize(a)) - 1.0;
    }
    if (between)
    {
      const auto u = forwardAt->EvaluateAtContinuousIndex(inFixed);
      double squared = 0.0;
      for (unsigned int a = 0; a < ImageDimension; ++a)
      {
        squared += (u[a] + v[a]) * (u[a] + v[a]);
      }
      const double residual = std::sqrt(squared);
      largest = std::max(largest, residual);
      sum += residual;
      ++counted;
    }
  }
  m_InverseMaximumResidual = largest;
  m_InverseMeanResidual = counted > 0 ? sum / static_cast<double>(counted) : 0.0;
  return true;
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
ModifiedTimeType
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::GetMTime() const
{
  ModifiedTimeType latest = Superclass::GetMTime();
  if (m_InitialTransform)
  {
    latest = std::max(latest, m_InitialTransform->GetMTime());
  }
  return latest;
}

template <typename TFixedImage, typename TMovingImage, typename TDisplacementField, typename TLabelImage>
void
SHMoARegistrationFilter<TFixedImage, TMovingImage, TDisplacementField, TLabelImage>::PrintSelf(std::ostream & os,
                                                                                               Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "Model: " << (m_Model ? m_Model->GetPresetName() : std::string("(none)")) << std::endl;
  os << indent << "ModelFileName: " << m_ModelFileName << std::endl;
  os << indent << "InitialTransform: " << (m_InitialTransform ? m_InitialTransform->GetNameOfClass() : "(none)")
     << std::endl;
  os << indent << "Device: " << m_Device << std::endl;
  os << indent << "NetworkGridSize: " << m_NetworkGridSize << std::endl;
  os << indent << "NetworkGridSpacing: " << m_NetworkGridSpacing << std::endl;
  os << indent << "NetworkFieldOfView: " << m_NetworkFieldOfView << std::endl;
  os << indent << "NetworkGridOverWholeImage: " << m_NetworkGridOverWholeImage << std::endl;
  os << indent << "UsedNetworkFieldOfView: " << m_UsedNetworkFieldOfView << std::endl;
  os << indent << "UsedNetworkGridSize: " << m_UsedNetworkGridSize << std::endl;
  os << indent << "ComputeInverseDisplacementField: " << m_ComputeInverseDisplacementField << std::endl;
  os << indent << "InverseMaximumNumberOfIterations: " << m_InverseMaximumNumberOfIterations << std::endl;
  os << indent << "InverseTolerance: " << m_InverseTolerance << std::endl;
  os << indent << "InverseMaximumResidual: " << m_InverseMaximumResidual << std::endl;
  os << indent << "InverseMeanResidual: " << m_InverseMeanResidual << std::endl;
  os << indent << "InverseIsExact: " << m_InverseIsExact << std::endl;
  os << indent << "UseExactInverse: " << m_UseExactInverse << std::endl;
  os << indent << "NumberOfNetworkPasses: " << m_NumberOfNetworkPasses << std::endl;
  os << indent << "InstanceOptimizationSettings: " << m_InstanceOptimizationSettings << std::endl;
}

} // namespace itk

#endif
