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
#ifndef itkMoEDisplacementFieldSource_h
#define itkMoEDisplacementFieldSource_h

#include "itkSHMoARegModel.h"
#include "itkSHMoARegNetworkGrid.h"

#include "itkImageToImageFilter.h"

namespace itk {

/** \class MoEDisplacementFieldSource
 * \brief Runs a registration network on a fixed and a moving image that are already on the
 * network grid; produces the displacement field and the per-direction expert maps.
 *
 * Inputs: FixedImage and MovingImage, float images of the same grid, intensities in [0, 1]
 * (SHMoARegNetworkGrid::MakeGrid and NormalizeIntensities prepare them;
 * SHMoARegistrationFilter does all of this for images of any grid).
 *
 * Outputs, all on the input grid:
 *  - 0: the displacement field in physical millimetres (ITK's convention: a fixed point x maps
 *       to x + u(x) in the moving image, components in the physical LPS frame);
 *  - 1, 2, 3: the SHMoE expert chosen at every voxel for the i, j and k directions (the
 *       paper's Fig. 2), from the full-resolution SHMoE layer; all zero for networks without
 *       SHMoE;
 *  - 4: with ComputeGateProbabilities on, the gate's softmax, 3 x E components per voxel
 *       (direction i's E probabilities, then j's, then k's).
 *
 * The network runs as one step: progress jumps from 0 to 1 around it.
 *
 * \ingroup SHMoAReg
 */
class SHMoAReg_EXPORT MoEDisplacementFieldSource
  : public ImageToImageFilter<SHMoARegNetworkGrid::ImageType, SHMoARegNetworkGrid::DisplacementFieldType>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(MoEDisplacementFieldSource);

  using Self = MoEDisplacementFieldSource;
  using Superclass = ImageToImageFilter<SHMoARegNetworkGrid::ImageType, SHMoARegNetworkGrid::DisplacementFieldType>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  itkNewMacro(Self);
  itkTypeMacro(MoEDisplacementFieldSource, ImageToImageFilter);

  using NetworkImageType = SHMoARegNetworkGrid::ImageType;
  using DisplacementFieldType = SHMoARegNetworkGrid::DisplacementFieldType;
  using ExpertMapType = SHMoARegModel::ExpertMapType;
  using GateProbabilityImageType = SHMoARegModel::GateProbabilityImageType;
  using ModelType = SHMoARegModel;

  itkSetInputMacro(FixedImage, NetworkImageType);
  itkGetInputMacro(FixedImage, NetworkImageType);
  itkSetInputMacro(MovingImage, NetworkImageType);
  itkGetInputMacro(MovingImage, NetworkImageType);
  /** Optional masks on the network grid (non-zero inside) for instance optimisation's similarity. */
  itkSetInputMacro(FixedMask, NetworkImageType);
  itkGetInputMacro(FixedMask, NetworkImageType);
  itkSetInputMacro(MovingMask, NetworkImageType);
  itkGetInputMacro(MovingMask, NetworkImageType);

  /** The network; shared, never modified. */
  itkSetConstObjectMacro(Model, ModelType);
  itkGetConstObjectMacro(Model, ModelType);

  /** Where the prediction runs ("auto", "cpu", "cuda", "cuda:N"); empty (the default): the
   * model's device. An argument of the prediction: the shared model is not changed. */
  itkSetStringMacro(Device);
  itkGetStringMacro(Device);

  itkSetMacro(ComputeGateProbabilities, bool);
  itkGetConstMacro(ComputeGateProbabilities, bool);
  itkBooleanMacro(ComputeGateProbabilities);

  DisplacementFieldType *
  GetDisplacementField()
  {
    return this->GetOutput();
  }

  /** direction: 0 (i), 1 (j) or 2 (k). */
  ExpertMapType *
  GetExpertMap(unsigned int direction);

  /** Null unless ComputeGateProbabilities was on. */
  GateProbabilityImageType *
  GetGateProbabilities();

  /** With ComputeInverseDisplacementField on and a diffeomorphic model (SHMoARegModel::
   * IsDiffeomorphic), output 5 holds the exact inverse of output 0 on the network grid (mm): the
   * negated velocities integrated and composed in reverse order, instance optimisation included.
   * GetInverseDisplacementField is null otherwise, and with a multi-level refinement. */
  itkSetMacro(ComputeInverseDisplacementField, bool);
  itkGetConstMacro(ComputeInverseDisplacementField, bool);
  itkBooleanMacro(ComputeInverseDisplacementField);
  DisplacementFieldType *
  GetInverseDisplacementField();

  /** Passes of the network over the pair (default 1): each further pass registers the moving
   * image warped by the field so far and the fields are composed (SHMoARegModel::Predict). 0 is
   * refused when the filter runs. */
  itkSetMacro(NumberOfNetworkPasses, unsigned int);
  itkGetConstMacro(NumberOfNetworkPasses, unsigned int);

  /** What runs after the network (shmoaregAfterNetworkSettingsMacro, itkSHMoARegModel.h): the
   * instance optimisation (SHMoARegModel::InstanceOptimizationSettings: Adam on this pair's
   * field; 0 iterations, the default, for the network's prediction alone), then the multi-level
   * refinement (SHMoARegModel::RefinementSettings), here on the network grid that the inputs
   * share (SHMoARegistrationFilter refines on the fixed image's own grid); default: no levels.
   * The refinement leaves the expert maps and gate probabilities the network's and makes the
   * exact inverse unavailable (the refined field is not the network's). */
  shmoaregAfterNetworkSettingsMacro();
  using RefinementReportType = std::vector<SHMoARegModel::RefinementLevelReport>;
#if !defined(ITK_WRAPPING_PARSER)
  /** Each level of the last update's refinement: grid, iterations run, losses, seconds. */
  itkGetConstReferenceMacro(RefinementReport, RefinementReportType);
#endif
  /** Seconds of the last update's multi-level refinement. */
  itkGetConstMacro(RefinementSeconds, double);

  /** Seconds the network took in the last update (instance optimisation included). */
  itkGetConstMacro(NetworkSeconds, double);
  /** Of NetworkSeconds, the instance optimisation's. */
  itkGetConstMacro(InstanceOptimizationSeconds, double);

protected:
  MoEDisplacementFieldSource();
  ~MoEDisplacementFieldSource() override = default;

  using Superclass::MakeOutput;
  DataObject::Pointer
  MakeOutput(DataObjectPointerArraySizeType index) override;

  void
  GenerateOutputInformation() override;
  void
  GenerateInputRequestedRegion() override;
  void
  EnlargeOutputRequestedRegion(DataObject * output) override;
  void
  GenerateData() override;
  void
  PrintSelf(std::ostream & os, Indent indent) const override;

private:
  typename ModelType::ConstPointer m_Model;
  std::string m_Device;
  bool m_ComputeGateProbabilities{ false };
  bool m_ComputeInverseDisplacementField{ false };
  bool m_HasInverseDisplacementField{ false };
  double m_NetworkSeconds{ 0.0 };
  double m_InstanceOptimizationSeconds{ 0.0 };
  unsigned int m_NumberOfNetworkPasses{ 1 };
  InstanceOptimizationSettingsType m_InstanceOptimizationSettings;
  RefinementSettingsType m_RefinementSettings;
  RefinementReportType m_RefinementReport;
  double m_RefinementSeconds{ 0.0 };
};

} // namespace itk

#endif
