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
#ifndef itkSHMoARegModel_h
#define itkSHMoARegModel_h

#include "SHMoARegExport.h"
#include "itkSHMoARegImageTypes.h"

#include "itkFixedArray.h"
#include "itkImage.h"
#include "itkObject.h"
#include "itkObjectFactory.h"
#include "itkSize.h"
#include "itkVector.h"
#include "itkVectorImage.h"

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace itk {

/** \class SHMoARegModel
 * \brief A loaded registration network (SHMoAReg or one of the paper's baselines).
 *
 * The handle that ITK code holds: it loads a self-describing model file (or builds an
 * untrained network from a named preset), chooses the device and runs the network on a pair
 * of images that are already on the network grid. LibTorch stays behind a private
 * implementation, so this header, and every filter that uses it, needs no torch headers.
 *
 * One model can be shared by several filters and threads: Predict does not modify it.
 *
 * \ingroup SHMoAReg
 */
class SHMoAReg_EXPORT SHMoARegModel : public Object
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(SHMoARegModel);

  using Self = SHMoARegModel;
  using Superclass = Object;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  itkNewMacro(Self);
  itkTypeMacro(SHMoARegModel, Object);

  using NetworkImageType = SHMoARegImageTypes::ImageType;
  /** Displacement in voxels of the network grid, components along the index axes (i, j, k). */
  using VoxelDisplacementFieldType = SHMoARegImageTypes::DisplacementFieldType;
  /** The expert chosen at each voxel for one direction (0 .. experts - 1). */
  using ExpertMapType = SHMoARegImageTypes::ExpertMapType;
  /** Gate probabilities: 3 x E components per voxel, direction-major (i, j, k), then expert. */
  using GateProbabilityImageType = VectorImage<float, 3>;

  /** What one run of the network produces. */
  struct Prediction
  {
    VoxelDisplacementFieldType::Pointer VoxelDisplacement;
    /** With computeInverse and a diffeomorphic model: the exact inverse (voxels), integrated from
     * the negated velocities and composed in reverse order; null otherwise. */
    VoxelDisplacementFieldType::Pointer InverseVoxelDisplacement;
    /** Full-resolution SHMoE choices for the i, j and k directions; empty without SHMoE. */
    std::vector<ExpertMapType::Pointer> ExpertMaps;
    /** Full-resolution SHMoE gate softmax, when asked for; null otherwise. */
    GateProbabilityImageType::Pointer GateProbabilities;
    double Seconds{ 0.0 };
    /** Of Seconds, the instance optimisation's share. */
    double RefinementSeconds{ 0.0 };
  };

  /** Instance optimisation after the network: Adam on a copy of the predicted field (network
   * grid, voxels) minimising similarity + SmoothnessWeight * smoothness + FoldingWeight *
   * mean(relu(-det J)); the model's weights are never changed. 0 iterations: the prediction. */
  struct InstanceOptimizationSettings
  {
    unsigned int Iterations{ 0 };
    double LearningRate{ 0.2 };
    double SmoothnessWeight{ 0.3 };
    double FoldingWeight{ 1.0 };
#if !defined(ITK_WRAPPING_PARSER)
    bool
    operator==(const InstanceOptimizationSettings & other) const
    {
      return Iterations == other.Iterations && LearningRate == other.LearningRate &&
             SmoothnessWeight == other.SmoothnessWeight && FoldingWeight == other.FoldingWeight;
    }
    bool
    operator!=(const InstanceOptimizationSettings & other) const
    {
      return !(*this == other);
    }
#endif
  };

  /** Multi-level refinement in physical space after the network (src/network/
   * MultiLevelRefinement.h): coarse to fine over grids of the fixed image's extent whose voxels
   * are VoxelScale times its smallest voxel (1: its own grid), a contrast-robust similarity,
   * diffusion regularisation in mm, a folding penalty and a field smoothed each iteration. No
   * levels: no refinement. */
  struct RefinementLevel
  {
    double VoxelScale{ 1.0 };
    unsigned int Iterations{ 50 };
  };
  struct RefinementSettings
  {
    std::vector<RefinementLevel> Levels;
    std::string Similarity{ "ncc" }; /** "ncc" (local NCC), "mind" (MIND-SSC) or "mse" */
    unsigned int NCCWindow{ 5 };     /** voxels of each level, odd */
    double LearningRate{ 0.5 };      /** Adam step in voxels of each level */
    double SmoothnessWeight{ 0.5 };
    double FoldingWeight{ 1.0 };
    unsigned int SmoothingPasses{ 2 }; /** 3^3 averaging filters on the field each iteration */
    /** Stop each level once (loss[i - window] - loss[i]) / |loss[i - window]| < tolerance. */
    bool AutoStop{ false };
    unsigned int AutoStopWindow{ 10 };
    double AutoStopTolerance{ 1e-3 };
  };
  struct RefinementLevelReport
  {
    Size<3> GridSize{ { 0, 0, 0 } };      /** voxels, i j k */
    FixedArray<double, 3> Spacing{ 0.0 }; /** mm, i j k */
    unsigned int Iterations{ 0 };
    double FirstLoss{ 0.0 };
    double FinalLoss{ 0.0 };
    double Seconds{ 0.0 };
  };
  /** "none", "fast" or "accurate" (register --refinement); throws ExceptionObject otherwise. */
  static RefinementSettings
  GetRefinementPreset(const std::string & name);

  /** Refines `initial` (voxels of the fixed grid, components i j k) between `fixed` and
   * `moving` (the moving image already on the fixed grid, intensities in [0, 1]); the masks
   * (optional, fixed grid, non-zero inside) restrict the similarity. Returns the refined field
   * in voxels of the fixed grid; the model's weights are not used or changed (only its device
   * and, for the diffeomorphic variant, its integration). */
  VoxelDisplacementFieldType::Pointer
  Refine(const NetworkImageType * fixed,
         const NetworkImageType * moving,
         const VoxelDisplacementFieldType * initial,
         const RefinementSettings & settings,
         const NetworkImageType * fixedMask = nullptr,
         const NetworkImageType * movingMask = nullptr,
         std::vector<RefinementLevelReport> * report = nullptr,
         const std::string & device = std::string()) const;
#if !defined(ITK_WRAPPING_PARSER)
  /** The same, calling `levelDone` with each level's report as soon as that level ends (the
   * filters turn it into an IterationEvent per level: live progress). */
  using RefinementLevelCallback = std::function<void(const RefinementLevelReport &)>;
  VoxelDisplacementFieldType::Pointer
  Refine(const NetworkImageType * fixed,
         const NetworkImageType * moving,
         const VoxelDisplacementFieldType * initial,
         const RefinementSettings & settings,
         const NetworkImageType * fixedMask,
         const NetworkImageType * movingMask,
         std::vector<RefinementLevelReport> * report,
         const std::string & device,
         const RefinementLevelCallback & levelDone) const;
#endif

  /** What this build runs on: the LibTorch version, whether CUDA is available (and how many
   * devices) and the model file format version it reads and writes. */
  static std::string
  GetBackendDescription();

  /** The names of the built-in configurations (VM, TM, 2casVM, 2casTM, Pyramid, SHMoAReg,
   * SHMoAReg_diff). */
  static std::vector<std::string>
  GetPresetNames();

  /** Builds an untrained network of a named preset (weights from the seed). */
  void
  CreateFromPreset(const std::string & presetName, unsigned int seed = 0);

  /** Loads a model file; throws ExceptionObject naming the file and the problem. */
  void
  LoadFromFile(const std::string & fileName);

  /** Writes the model atomically (temporary file, then rename). */
  void
  SaveToFile(const std::string & fileName) const;

  bool
  IsLoaded() const;

  std::string
  GetPresetName() const;
  std::string
  GetConfigurationAsJSON() const;
  std::string
  GetProvenance() const;
  /** The voxel size (mm, i j k) of the network grid the model was trained on, from its training
   * provenance; zeros when the file does not say (an untrained preset, an older file). The
   * network predicts displacements in voxels, so it should see images at this voxel size. */
  FixedArray<double, 3>
  GetTrainingVoxelSpacing() const;
  /** The extent (mm, i j k) of the network grid the model was trained on, a box centred on each
   * training image; zeros when the file does not say. A network sees its whole input at once,
   * so it registers best what it sees over the same field of view (SHMoARegNetworkGrid::MakeGrid). */
  FixedArray<double, 3>
  GetTrainingFieldOfView() const;
  /** Where that box sat on each training image: "image" (the centre of its extent; files that do
   * not say) or "foreground" (SHMoARegNetworkGrid::ForegroundCentre, whatever the extent). */
  std::string
  GetTrainingBoxCentre() const;
  SizeValueType
  GetNumberOfParameters() const;
  /** Channels per image the network expects (1 for every preset). */
  unsigned int
  GetNumberOfInputChannels() const;
  bool
  HasExpertMaps() const;
  /** Experts per SHMoE layer (3 for kernels 1, 3, 5); 0 without SHMoE. */
  unsigned int
  GetNumberOfExperts() const;

  /** Where the model's network lives and predictions run unless they name a device: "auto",
   * "cpu", "cuda" or "cuda:N"; throws if the device does not exist here. Set it before sharing
   * the model: Predict and Refine never change it (a prediction that names another device
   * runs on a copy of the network made there once). */
  void
  SetDevice(const std::string & device);
  std::string
  GetDevice() const;

  /** LibTorch intra-op threads (0: LibTorch's default). Process-wide in LibTorch, so set once
   * by the program (the command line's --threads); no filter of the module sets it. */
  void
  SetNumberOfThreads(int threads);

  /** Runs the network on a fixed and a moving image of the same grid, intensities in [0, 1].
   * The displacement maps a fixed voxel x to the moving voxel x + u(x). */
  Prediction
  Predict(const NetworkImageType * fixed, const NetworkImageType * moving, bool gateProbabilities = false) const;
  /** As above, then instance optimisation; the masks (optional, network grid, non-zero inside)
   * restrict its similarity to the fixed mask and to the moving mask carried by the field.
   * networkPasses > 1 runs the network again on the moving image warped by the field so far and
   * composes the fields (a recursive cascade of the same weights); 0 is refused. */
  Prediction
  Predict(const NetworkImageType * fixed,
          const NetworkImageType * moving,
          bool gateProbabilities,
          const InstanceOptimizationSettings & refinement,
          const NetworkImageType * fixedMask = nullptr,
          const NetworkImageType * movingMask = nullptr,
          bool computeInverse = false,
          const std::string & device = std::string(),
          unsigned int networkPasses = 1) const;
  /** One step of unsupervised training (fine-tuning) on a pair of the network grid, intensities
   * in [0, 1]: the training loss (similarity "ncc" (local NCC) or "mse", smoothness and the
   * routing and MoA terms at the trainer's default weights) backpropagated, then one Adam step of
   * `learningRate` on the model's weights; the Adam state carries over between calls (a new
   * network or device starts it again). Returns the loss before the step. It changes the model:
   * not while predictions on it run in other threads. SaveToFile keeps the result. */
  double
  TrainStep(const NetworkImageType * fixed,
            const NetworkImageType * moving,
            double learningRate = 1e-4,
            const std::string & similarity = "ncc");
  /** True for the diffeomorphic variant, whose inverse Predict can compute exactly. */
  bool
  IsDiffeomorphic() const;

protected:
  SHMoARegModel();
  ~SHMoARegModel() override;
  void
  PrintSelf(std::ostream & os, Indent indent) const override;

private:
  struct Implementation;
  std::unique_ptr<Implementation> m_Implementation;
};

/** Declares, in a process object that runs the network (MoEDisplacementFieldSource,
 * SHMoARegistrationFilter), the settings of what runs after it, once for both: the instance
 * optimisation (m_InstanceOptimizationSettings) and the multi-level refinement
 * (m_RefinementSettings), as structs for C++ (hidden from the wrapping, which does not take
 * nested structs), and their common parts for C++ and Python: the iterations of the instance
 * optimisation and a refinement by name ("none", "fast", "accurate"). */
#if !defined(ITK_WRAPPING_PARSER)
#  define shmoaregAfterNetworkStructSettersMacro()                                                                     \
    itkSetMacro(InstanceOptimizationSettings, InstanceOptimizationSettingsType);                                       \
    itkGetConstReferenceMacro(InstanceOptimizationSettings, InstanceOptimizationSettingsType);                         \
    void SetRefinementSettings(const RefinementSettingsType & settings)                                                \
    {                                                                                                                  \
      m_RefinementSettings = settings;                                                                                 \
      this->Modified();                                                                                                \
    }                                                                                                                  \
    itkGetConstReferenceMacro(RefinementSettings, RefinementSettingsType)
#else
#  define shmoaregAfterNetworkStructSettersMacro() static_assert(true, "")
#endif
#define shmoaregAfterNetworkSettingsMacro()                                                                            \
  using InstanceOptimizationSettingsType = SHMoARegModel::InstanceOptimizationSettings;                                \
  using RefinementSettingsType = SHMoARegModel::RefinementSettings;                                                    \
  shmoaregAfterNetworkStructSettersMacro();                                                                            \
  void SetNumberOfInstanceOptimizationIterations(unsigned int iterations)                                              \
  {                                                                                                                    \
    if (m_InstanceOptimizationSettings.Iterations != iterations)                                                       \
    {                                                                                                                  \
      m_InstanceOptimizationSettings.Iterations = iterations;                                                          \
      this->Modified();                                                                                                \
    }                                                                                                                  \
  }                                                                                                                    \
  unsigned int GetNumberOfInstanceOptimizationIterations() const { return m_InstanceOptimizationSettings.Iterations; } \
  void SetRefinement(const std::string & name)                                                                         \
  {                                                                                                                    \
    m_RefinementSettings = SHMoARegModel::GetRefinementPreset(name);                                                   \
    this->Modified();                                                                                                  \
  }                                                                                                                    \
  static_assert(true, "")

#if !defined(ITK_WRAPPING_PARSER)
/** One line: "iterations 0, learning rate 0.2, smoothness 0.3, folding 1" (PrintSelf, itkSetMacro). */
SHMoAReg_EXPORT std::ostream &
operator<<(std::ostream & os, const SHMoARegModel::InstanceOptimizationSettings & settings);
#endif

} // namespace itk

#endif
