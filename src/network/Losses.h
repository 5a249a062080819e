// Training objectives: similarity, smoothness, the routing-classification loss of the SHMoE
// gates, and the total loss of the paper's Eq. (1) plus the MoA auxiliary losses.
#ifndef shmoareg_Losses_h
#define shmoareg_Losses_h

#include "RegistrationNetwork.h"

namespace shmoareg {

enum class Similarity
{
  MeanSquaredError,
  LocalNormalizedCrossCorrelation
};

torch::Tensor
meanSquaredError(const torch::Tensor & warped, const torch::Tensor & fixed);

// 1 - mean local NCC^2 over cubic windows of `window` voxels (VoxelMorph's NCC, as a loss >= 0
// that is 0 for intensities related by a local affine map).
torch::Tensor
localNormalizedCrossCorrelation(const torch::Tensor & warped, const torch::Tensor & fixed, int64_t window = 9);

// The fixed image's window sums, which an optimisation against one fixed image computes once
// (the refinement's levels): each iteration then filters only the warped image's terms.
struct LocalNccFixedStatistics
{
  torch::Tensor fixed;        // [B, C, D, H, W]
  torch::Tensor count;        // voxels in each window (fewer at the border)
  torch::Tensor sum;          // window sums of the fixed intensities
  torch::Tensor sumOfSquares; //   and of their squares
  int64_t window = 9;
};

LocalNccFixedStatistics
localNccFixedStatistics(const torch::Tensor & fixed, int64_t window);

torch::Tensor
localNormalizedCrossCorrelation(const torch::Tensor & warped, const LocalNccFixedStatistics & fixed);

// 1 - mean over the label channels 1.. of the soft Dice 2 sum(a b) / (sum(a) + sum(b)) of one-hot
// (or probabilistic) label maps [B, L, D, H, W]; channel 0 (background) is left out, and so are
// labels present in neither map. VoxelMorph's and TransMorph's semi-supervised brain term.
torch::Tensor
softDiceLoss(const torch::Tensor & warpedLabels, const torch::Tensor & fixedLabels);

// Mean over the three axes of the mean squared forward difference of the field along that axis.
torch::Tensor
smoothness(const torch::Tensor & displacement);

// Labels of the routing-classification loss (after Spatial MoE, Dryden & Hoefler 2022).
// error = |dL_task / d output|, per voxel and direction; a choice is correct where error is
// at most the `quantile`-quantile of its sample's errors. Correct: label 1 for the chosen
// expert, 0 for the others. Wrong: label 0 for the chosen expert, 1 / (E - 1) for each other.
torch::Tensor
routingClassificationLabels(const ExpertRouting & routing, const torch::Tensor & outputGradient, double quantile = 0.7);

// BCE-with-logits of the gate logits against routingClassificationLabels.
torch::Tensor
routingClassificationLoss(const ExpertRouting & routing, const torch::Tensor & outputGradient, double quantile = 0.7);

struct LossWeights
{
  Similarity similarity = Similarity::MeanSquaredError;
  double regularization = 0.01; // lambda_r
  double routing = 0.001;       // lambda_rc
  double moaLoadBalance = 0.01; // MoA switch-style balance loss
  double moaRouterZ = 0.001;    // MoA router z-loss
  double routingQuantile = 0.7;
  int64_t nccWindow = 9;
  double dice = 0.0;       // weight of softDiceLoss on the warped moving labels (needs LabelMaps)
  double knownField = 0.0; // weight of knownFieldLoss (needs a KnownField)
};

// One-hot label maps of a training pair, [B, L, D, H, W] on the network grid, for the Dice term.
struct LabelMaps
{
  torch::Tensor moving;
  torch::Tensor fixed;
};

// A training pair's true displacement (voxels, the network's layout) and where it counts
// ([B, 1, D, H, W], 1 inside), for supervision by a synthetic generator's known field.
struct KnownField
{
  torch::Tensor displacement;
  torch::Tensor mask;
};

// Mean over the mask of the squared end-point error |u - truth|^2 (voxels^2).
torch::Tensor
knownFieldLoss(const torch::Tensor & displacement, const KnownField & known);

struct LossValues
{
  double similarity = 0;
  double smoothness = 0;
  double routing = 0;
  double moaLoadBalance = 0;
  double moaRouterZ = 0;
  double dice = 0;
  double knownField = 0;
  double total = 0;
};

// Computes the total loss
//   sim + lambda_r * smooth + lambda_rc * RC + w_lb * MoA balance + w_z * MoA z
//   (+ w_dice * softDiceLoss(moving labels warped linearly, fixed labels) when labels are given)
//   (+ w_known * knownFieldLoss when the pair's known field is given)
// and accumulates its gradients into the network's parameters. Two backward passes: the task
// terms first (which defines the RC labels from the gradient at each SHMoE output), then the
// RC term into the gates.
LossValues
backwardTotalLoss(const RegistrationOutput & output,
                  const torch::Tensor & fixed,
                  const LossWeights & weights,
                  const LabelMaps * labels = nullptr,
                  const KnownField * knownField = nullptr);

// The same terms without gradients (validation); the RC term needs gradients and is 0 here.
LossValues
evaluateLoss(const RegistrationOutput & output,
             const torch::Tensor & fixed,
             const LossWeights & weights,
             const LabelMaps * labels = nullptr,
             const KnownField * knownField = nullptr);

} // namespace shmoareg

#endif
