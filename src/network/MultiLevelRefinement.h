// Multi-level refinement of a displacement field in physical space, after the network: the
// pair's field is optimised coarse to fine on grids of the fixed image's extent whose voxels
// are a multiple of the image's (coarse levels isotropic in millimetres, the last level at the
// image's own voxels), with a contrast-robust similarity (local NCC or MIND-SSC), diffusion
// regularisation in millimetres, a folding penalty, and the field smoothed by averaging
// filters each iteration (a smooth parametrisation, as ConvexAdam does). The field lives in
// millimetres along the tensor axes, so it moves between levels without rescaling and
// anisotropic voxels cost nothing special. Only a copy of the field is optimised.
#ifndef shmoareg_MultiLevelRefinement_h
#define shmoareg_MultiLevelRefinement_h

#include "Losses.h"

#include <torch/torch.h>

#include <array>
#include <functional>
#include <string>
#include <vector>

namespace shmoareg {

enum class RefinementSimilarity
{
  MeanSquaredError,
  LocalNormalizedCrossCorrelation,
  MindSsc
};

struct RefinementLevel
{
  double voxelScale = 1.0; // level voxel size / the image's smallest voxel size (1 = the image's own grid)
  int64_t iterations = 50; // at most; `autoStop` may stop earlier
};

struct MultiLevelRefinementOptions
{
  std::vector<RefinementLevel> levels{ { 4.0, 60 }, { 2.0, 40 } }; // coarse to fine
  RefinementSimilarity similarity = RefinementSimilarity::LocalNormalizedCrossCorrelation;
  int64_t nccWindow = 5;           // voxels of the level
  double learningRate = 0.5;       // Adam step, in voxels of the level
  double smoothnessWeight = 0.5;   // on the mean squared field gradient (mm / mm)
  double foldingWeight = 1.0;      // on mean(relu(-det J))
  int64_t smoothingPasses = 2;     // 3^3 averaging filters applied to the field each iteration
  bool autoStop = false;           // stop a level when the loss has stopped improving:
  int64_t autoStopWindow = 10;     //   (loss[i - window] - loss[i]) / |loss[i - window]|
  double autoStopTolerance = 1e-3; //   below the tolerance
  // Diffeomorphic variant: the refinement is exp(c) of a stationary velocity composed after
  // the start field, so a diffeomorphic start stays diffeomorphic; otherwise the field itself.
  bool diffeomorphic = false;
  int integrationSteps = 7;

  // Throws std::invalid_argument naming the first bad setting.
  void
  validate() const;
};

// What each level did, for the log and metrics.json.
struct RefinementLevelReport
{
  std::array<int64_t, 3> size{};
  std::array<double, 3> spacingMm{};
  int64_t iterations = 0;
  double firstLoss = 0;
  double finalLoss = 0;
  double seconds = 0;
};

// moving, fixed: [1, 1, D, H, W] on one grid (the moving image already resampled onto the
// fixed grid), intensities in [0, 1]; spacingMm: that grid's voxel size along D, H, W; initial:
// [1, 3, D, H, W] in voxels of that grid (SpatialTransformer.h). Masks optional ([1, 1, D, H, W],
// 0 / 1): the similarity counts inside the fixed mask and where the moving mask, carried by the
// field, lies. Returns the refined field in voxels of the grid (no gradient history).
// levelDone, when given, is called with each level's report as soon as the level ends (live
// progress); `report` gets the same entries.
using RefinementLevelCallback = std::function<void(const RefinementLevelReport &)>;
torch::Tensor
refineMultiLevel(const torch::Tensor & moving,
                 const torch::Tensor & fixed,
                 const torch::Tensor & initial,
                 const std::array<double, 3> & spacingMm,
                 const MultiLevelRefinementOptions & options,
                 const torch::Tensor & fixedMask = {},
                 const torch::Tensor & movingMask = {},
                 std::vector<RefinementLevelReport> * report = nullptr,
                 const RefinementLevelCallback & levelDone = nullptr);

// The grid of one level: the fixed grid's extent in voxels of voxelScale times its smallest
// spacing (never finer than the grid itself along any axis), at least 4 voxels an axis.
std::array<int64_t, 3>
refinementLevelSize(torch::IntArrayRef size, const std::array<double, 3> & spacingMm, double voxelScale);

// MIND-SSC descriptors (Heinrich et al. 2013, self-similarity context): 12 channels, each the
// patch distance between two of the six face neighbours at `dilation` voxels that are sqrt(2)
// apart, averaged over a (2 radius + 1)^3 box, normalised by the per-voxel mean of the 12 and
// mapped through exp(-d / v). volume: [1, 1, D, H, W]; returns [1, 12, D, H, W]. Borders
// replicate.
torch::Tensor
mindSscDescriptors(const torch::Tensor & volume, int64_t radius = 1, int64_t dilation = 2);

// The named settings of `register --refinement`: "fast", "accurate" (and "none": no levels).
MultiLevelRefinementOptions
refinementPreset(const std::string & name);

} // namespace shmoareg

#endif
