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
};

struct LossValues
{
  double similarity = 0;
  double smoothness = 0;
  double routing = 0;
  double moaLoadBalance = 0;
  double moaRouterZ = 0;
  double total = 0;
};

// Computes the total loss
//   sim + lambda_r * smooth + lambda_rc * RC + w_lb * MoA balance + w_z * MoA z
// and accumulates its gradients into the network's parameters. Two backward passes: the task
// terms first (which defines the RC labels from the gradient at each SHMoE output), then the
// RC term into the gates.
LossValues
backwardTotalLoss(const RegistrationOutput & output, const torch::Tensor & fixed, const LossWeights & weights);

// The same terms without gradients (validation); the RC term needs gradients and is 0 here.
LossValues
evaluateLoss(const RegistrationOutput & output, const torch::Tensor & fixed, const LossWeights & weights);

} // namespace shmoareg

#endif
