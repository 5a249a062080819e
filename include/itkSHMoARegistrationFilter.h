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
#ifndef itkSHMoARegistrationFilter_h
#define itkSHMoARegistrationFilter_h

#include "itkMoEDisplacementFieldSource.h"

#include "itkDisplacementFieldTransform.h"
#include "itkImageToImageFilter.h"

namespace itk {

/** \class SHMoARegistrationFilter
 * \brief Deformable registration of a moving image to a fixed image with a trained
 * SHMoAReg network (or one of its baselines), in physical space.
 *
 * The fixed and moving images may have any scalar pixel type, size, spacing, origin and
 * direction; their grids may differ as long as their physical spaces overlap (the moving image
 * is sampled in physical space).
 *
 * What happens in GenerateData, one step each:
 *  1. both images are resampled (linear) onto the network grid: NetworkGridSize voxels over
 *     the field of view the model was trained on (a box centred on the fixed image's extent) or
 *     over the fixed image's whole extent, with its direction (SHMoARegNetworkGrid::MakeGrid);
 *  2. intensities go to [0, 1] between the 0.5 and 99.5 percentiles, clipped
 *     (SHMoARegNetworkGrid::NormalizeIntensities);
 *  3. the network runs (MoEDisplacementFieldSource): a field in voxels of the network grid,
 *     converted to millimetres (SHMoARegNetworkGrid::VoxelToPhysical);
 *  4. the field is resampled (linear) onto the fixed image's grid; past the network grid's box
 *     it keeps the box's border value.
 *
 * Outputs on the fixed image's grid:
 *  - 0: the displacement field in physical millimetres, ITK's convention: a fixed point x maps
 *       to x + u(x) in the moving image (itk::DisplacementFieldTransform, itk::WarpImageFilter,
 *       elastix / transformix, ANTs and 3D Slicer apply it unchanged);
 *  - 1: the moving image warped by it (linear interpolation);
 *  - 2: with SetMovingLabelImage, the moving labels warped by it (nearest neighbour).
 * The network-grid expert maps stay available through GetMoEDisplacementFieldSource().
 *
 * The model comes from SetModel (loaded once, shared between filters) or SetModelFileName.
 * Progress is reported through preprocessing, network and resampling; AbortGenerateData is
 * honoured between the steps.
 *
 * \ingroup SHMoAReg
 */
template <typename TFixedImage,
          typename TMovingImage,
          typename TDisplacementField = Image<Vector<float, 3>, 3>,
          typename TLabelImage = Image<unsigned short, 3>>
class ITK_TEMPLATE_EXPORT SHMoARegistrationFilter : public ImageToImageFilter<TFixedImage, TDisplacementField>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(SHMoARegistrationFilter);

  using Self = SHMoARegistrationFilter;
  using Superclass = ImageToImageFilter<TFixedImage, TDisplacementField>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  itkNewMacro(Self);
  itkTypeMacro(SHMoARegistrationFilter, ImageToImageFilter);

  static constexpr unsigned int ImageDimension = TFixedImage::ImageDimension;
  static_assert(ImageDimension == 3 && TMovingImage::ImageDimension == 3 && TDisplacementField::ImageDimension == 3,
                "SHMoARegistrationFilter registers 3D images");

  using FixedImageType = TFixedImage;
  using MovingImageType = TMovingImage;
  using DisplacementFieldType = TDisplacementField;
  using LabelImageType = TLabelImage;
  using WarpedImageType = TMovingImage;
  using ModelType = SHMoARegModel;
  using NetworkSourceType = MoEDisplacementFieldSource;
  using NetworkImageType = SHMoARegNetworkGrid::ImageType;
  using NetworkFieldType = SHMoARegNetworkGrid::DisplacementFieldType;
  using GridSizeType = typename NetworkImageType::SizeType;
  using SpacingType = FixedArray<double, 3>;
  using MaskImageType = Image<unsigned char, ImageDimension>;
  /** Any ITK transform (affine, composite, displacement field, ...), fixed -> moving points. */
  using InitialTransformType = Transform<double, ImageDimension, ImageDimension>;
  using InitialFieldTransformType = DisplacementFieldTransform<double, ImageDimension>;
  using DataObjectPointerArraySizeType = typename Superclass::DataObjectPointerArraySizeType;

  itkSetInputMacro(FixedImage, FixedImageType);
  itkGetInputMacro(FixedImage, FixedImageType);
  itkSetInputMacro(MovingImage, MovingImageType);
  itkGetInputMacro(MovingImage, MovingImageType);
  itkSetInputMacro(MovingLabelImage, LabelImageType);
  itkGetInputMacro(MovingLabelImage, LabelImageType);
  /** Optional initial transform, as a displacement field in ITK's convention (e.g. a previous
   * registration's or another tool's; any grid): the moving image is sampled through it before
   * the network, and the outputs compose it: x -> t0(x + u(x)), so the output field is
   * u(x) + t0(x + u(x)) and the warps use it. Outside its grid the field is extended from its border. */
  itkSetInputMacro(InitialDisplacementField, DisplacementFieldType);
  itkGetInputMacro(InitialDisplacementField, DisplacementFieldType);
  /** Optional initial transform of any kind (e.g. an affine pre-alignment read with
   * itk::TransformFileReader, or ImageRegistrationMethodv4's result), used as the initial
   * displacement field is: x -> t0(x + u(x)). Give this or InitialDisplacementField, not both. */
  itkSetConstObjectMacro(InitialTransform, InitialTransformType);
  itkGetConstObjectMacro(InitialTransform, InitialTransformType);
  /** Optional masks (non-zero inside), each on any grid in its image's physical space: they
   * restrict instance optimisation's similarity to the fixed mask and to the moving mask carried
   * by the field. A mask that does not overlap its image is an error. */
  itkSetInputMacro(FixedMask, MaskImageType);
  itkGetInputMacro(FixedMask, MaskImageType);
  itkSetInputMacro(MovingMask, MaskImageType);
  itkGetInputMacro(MovingMask, MaskImageType);

  /** A loaded model, shared; takes precedence over ModelFileName. */
  itkSetConstObjectMacro(Model, ModelType);
  itkGetConstObjectMacro(Model, ModelType);
  /** A model file, loaded at the next update (once per file name). */
  itkSetStringMacro(ModelFileName);
  itkGetStringMacro(ModelFileName);
  /** "auto" (default), "cpu", "cuda" or "cuda:N"; a missing CUDA device is an error. */
  itkSetStringMacro(Device);
  itkGetStringMacro(Device);
  /** Voxels of the network grid per axis over its field of view. Zeros (the default)
   * choose it: from NetworkGridSpacing when set, else from the model's training voxel size
   * (SHMoARegModel::GetTrainingVoxelSpacing), else 128^3, the paper's grid. */
  itkSetMacro(NetworkGridSize, GridSizeType);
  itkGetConstReferenceMacro(NetworkGridSize, GridSizeType);
  /** A wanted network voxel size in mm (zeros: unset); used when NetworkGridSize is zero. */
  itkSetMacro(NetworkGridSpacing, SpacingType);
  itkGetConstReferenceMacro(NetworkGridSpacing, SpacingType);
  /** The extent in mm (along the fixed image's axes) that the network grid covers, a box centred
   * on the fixed image. Zeros (the default): the model's training field of view
   * (SHMoARegModel::GetTrainingFieldOfView), else the fixed image's whole extent. A network sees
   * its whole input at once: over a larger box than in training it recovers much less of the
   * displacement (docs/results.md, 2026-12-04 (d)). */
  itkSetMacro(NetworkFieldOfView, SpacingType);
  itkGetConstReferenceMacro(NetworkFieldOfView, SpacingType);
  /** Cover the fixed image's whole extent whatever the model's training field of view (the
   * behaviour before 2026-12-04); default off. */
  itkSetMacro(NetworkGridOverWholeImage, bool);
  itkGetConstMacro(NetworkGridOverWholeImage, bool);
  itkBooleanMacro(NetworkGridOverWholeImage);
  /** Passes of the network over the pair (MoEDisplacementFieldSource; default 1). */
  itkSetMacro(NumberOfNetworkPasses, unsigned int);
  itkGetConstMacro(NumberOfNetworkPasses, unsigned int);
  /** The grid size and field of view (mm) of the last update. */
  itkGetConstReferenceMacro(UsedNetworkGridSize, GridSizeType);
  itkGetConstReferenceMacro(UsedNetworkFieldOfView, SpacingType);

  /** What runs after the network (shmoaregAfterNetworkSettingsMacro, itkSHMoARegModel.h): the
   * instance optimisation on the network grid (MoEDisplacementFieldSource; 0 iterations, the
   * default, for the prediction alone), then the multi-level refinement in physical space on the
   * fixed image's extent (default: no levels, the network's field). The moving image is seen
   * through the initial transform, the masks restrict the similarity, and the shared model is
   * never modified. With a refinement the inverse field is always computed by fixed-point
   * iteration (the network's exact inverse is not the refined field's). */
  shmoaregAfterNetworkSettingsMacro();
  using RefinementReportType = std::vector<SHMoARegModel::RefinementLevelReport>;
#if !defined(ITK_WRAPPING_PARSER)
  /** Each level of the last update's refinement: grid, iterations run, losses, seconds. */
  itkGetConstReferenceMacro(RefinementReport, RefinementReportType);
#endif
  /** Seconds of the last update's refinement. */
  itkGetConstMacro(RefinementSeconds, double);
  /** Skip the network: the refinement starts from the identity (to measure what the network
   * contributes); the model still gives the device. Default off. */
  itkSetMacro(StartFromIdentity, bool);
  itkGetConstMacro(StartFromIdentity, bool);
  itkBooleanMacro(StartFromIdentity);

  DisplacementFieldType *
  GetDisplacementField()
  {
    return this->GetOutput();
  }
  /** The field before the initial transform t0 is composed into it (last update): the output
   * is x -> t0(x + w(x)), this is w, on the fixed grid in mm. Without an initial transform it is
   * the output itself. With a linear t0 this is ANTs' deformable part (P1Warp beside
   * P0GenericAffine.mat). */
  const DisplacementFieldType *
  GetDeformableDisplacementField() const
  {
    return m_DeformableDisplacementField ? m_DeformableDisplacementField.GetPointer() : this->GetOutput();
  }
  WarpedImageType *
  GetWarpedImage();
  LabelImageType *
  GetWarpedLabelImage();
  /** Output 3, with ComputeInverseDisplacementField on: the inverse field on the moving image's
   * grid (a moving point y maps to y + v(y) in the fixed image). For a diffeomorphic model it is
   * exact: the network's negated velocities integrated (MoEDisplacementFieldSource output 5),
   * composed with the initial transform's inverse when one was given (an initial transform
   * without an inverse, e.g. a displacement field, falls back to the next way). Otherwise by
   * fixed-point iteration (itk::InvertDisplacementFieldImageFilter) of the forward field sampled
   * there; outside the fixed image's extent the forward field is taken as zero.
   * GetInverseIsExact() says which way the last update took. */
  DisplacementFieldType *
  GetInverseDisplacementField();

  itkSetMacro(ComputeInverseDisplacementField, bool);
  itkGetConstMacro(ComputeInverseDisplacementField, bool);
  itkBooleanMacro(ComputeInverseDisplacementField);
  /** Fixed-point iterations of the inversion (default 50) and its stopping tolerance on the
   * largest residual, in mm (default 0.01). */
  itkSetMacro(InverseMaximumNumberOfIterations, unsigned int);
  itkGetConstMacro(InverseMaximumNumberOfIterations, unsigned int);
  itkSetMacro(InverseTolerance, double);
  itkGetConstMacro(InverseTolerance, double);
  /** |u(y + v(y)) + v(y)| after the inversion, in mm, over the moving grid (last update). */
  itkGetConstMacro(InverseMaximumResidual, double);
  itkGetConstMacro(InverseMeanResidual, double);
  itkGetConstMacro(InverseIsExact, bool);
  /** Use the diffeomorphic model's exact inverse when there is one (default on); off: always
   * the fixed-point iteration. */
  itkSetMacro(UseExactInverse, bool);
  itkGetConstMacro(UseExactInverse, bool);
  itkBooleanMacro(UseExactInverse);

  /** The inner network stage of the last update (expert maps on the network grid). */
  NetworkSourceType *
  GetMoEDisplacementFieldSource()
  {
    return m_NetworkSource;
  }

  /** Includes the initial transform's modification time, as ResampleImageFilter does. */
  ModifiedTimeType
  GetMTime() const override;

protected:
  SHMoARegistrationFilter();
  ~SHMoARegistrationFilter() override = default;

  using Superclass::MakeOutput;
  DataObject::Pointer
  MakeOutput(DataObjectPointerArraySizeType index) override;

  void
  GenerateOutputInformation() override;
  void
  GenerateOutputRequestedRegion(DataObject * output) override;
  void
  GenerateInputRequestedRegion() override;
  void
  EnlargeOutputRequestedRegion(DataObject * output) override;
  void
  VerifyInputInformation() const override;
  void
  GenerateData() override;
  void
  PrintSelf(std::ostream & os, Indent indent) const override;

private:
  const ModelType *
  ResolveModel();
  typename InitialTransformType::ConstPointer
  MakeInitialTransform() const;
  // A mask resampled (nearest) onto the network grid; throws if nothing of it lies there.
  SHMoARegNetworkGrid::ImageType::Pointer
  MaskOnNetworkGrid(const MaskImageType * mask, const ImageBase<ImageDimension> * grid, const char * which) const;
  void
  InvertOnMovingGrid(const DisplacementFieldType * field,
                     const MovingImageType * moving,
                     const InitialTransformType * initial);
  // The diffeomorphic model's exact inverse onto the moving grid; false when it cannot be used.
  bool
  ExactInverseOnMovingGrid(const DisplacementFieldType * field,
                           const MovingImageType * moving,
                           const InitialTransformType * initial);
  // The network grid of this update (sets m_UsedNetworkGridSize and m_UsedNetworkFieldOfView).
  typename SHMoARegNetworkGrid::ImageType::Pointer
  MakeNetworkGrid(const ModelType * model);
  void
  CheckAbort();
  // Maps an internal filter's progress onto [start, end] of this filter's and passes an abort on;
  // returns the observer's tag.
  unsigned long
  ForwardProgress(ProcessObject * internal, float start, float end);

  typename ModelType::ConstPointer m_Model;
  typename InitialTransformType::ConstPointer m_InitialTransform;
  typename ModelType::Pointer m_LoadedModel;
  std::string m_LoadedModelFileName;
  std::string m_ModelFileName;
  std::string m_Device{ "auto" };
  GridSizeType m_NetworkGridSize;
  SpacingType m_NetworkGridSpacing;
  SpacingType m_NetworkFieldOfView;
  bool m_NetworkGridOverWholeImage{ false };
  bool m_ComputeInverseDisplacementField{ false };
  unsigned int m_InverseMaximumNumberOfIterations{ 50 };
  double m_InverseTolerance{ 0.01 };
  double m_InverseMaximumResidual{ 0.0 };
  double m_InverseMeanResidual{ 0.0 };
  bool m_InverseIsExact{ false };
  bool m_UseExactInverse{ true };
  unsigned int m_NumberOfNetworkPasses{ 1 };
  InstanceOptimizationSettingsType m_InstanceOptimizationSettings;
  GridSizeType m_UsedNetworkGridSize;
  SpacingType m_UsedNetworkFieldOfView;
  RefinementSettingsType m_RefinementSettings;
  RefinementReportType m_RefinementReport;
  double m_RefinementSeconds{ 0.0 };
  bool m_StartFromIdentity{ false };
  typename NetworkSourceType::Pointer m_NetworkSource;
  typename DisplacementFieldType::Pointer m_DeformableDisplacementField; // with an initial transform
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkSHMoARegistrationFilter.hxx"
#endif

#endif
