// Instance optimisation: refines one pair's displacement after the network's prediction by
// gradient descent (Adam) on similarity + smoothness + a folding penalty, on the network grid,
// starting from the prediction. Only a copy of the field is optimised: the network and its
// weights are not touched, so one loaded model can serve many pairs and threads.
#ifndef shmoareg_InstanceOptimization_h
#define shmoareg_InstanceOptimization_h

#include "Losses.h"

#include <torch/torch.h>

namespace shmoareg {

struct InstanceOptimizationOptions
{
  int64_t iterations = 0;
  double learningRate = 0.2;     // Adam step, voxels
  double smoothnessWeight = 0.3; // on smoothness(u), Losses.h
  double foldingWeight = 1.0;    // on mean(relu(-det J)), so folded voxels are pushed out
  Similarity similarity = Similarity::MeanSquaredError;
  // Diffeomorphic variant: the refinement is exp(c) composed after the prediction, with c a
  // stationary velocity, so a diffeomorphic prediction stays diffeomorphic; otherwise u + c.
  bool diffeomorphic = false;
  int integrationSteps = 7;
};

// Jacobian determinant of x -> x + u(x), u in voxels ([B, 3, D, H, W]), by forward differences:
// [B, 1, D - 1, H - 1, W - 1].
torch::Tensor
jacobianDeterminant(const torch::Tensor & displacement);

// moving, fixed: [1, 1, D, H, W] in [0, 1]; initial: [1, 3, D, H, W] voxels. The masks (optional,
// [1, 1, D, H, W], 0 / 1) restrict the similarity to the fixed mask and to where the moving mask,
// warped by the current field, lies. Returns the refined displacement (no gradient history);
// `lossHistory`, when given, receives each iteration's loss. `inverse`, when given, holds the
// initial field's inverse on entry (the diffeomorphic variant's) and the refined field's on
// return: exp(-c) of the correction composed before it (undefined for the other variants).
torch::Tensor
refineDisplacement(const torch::Tensor & moving,
                   const torch::Tensor & fixed,
                   const torch::Tensor & initial,
                   const InstanceOptimizationOptions & options,
                   const torch::Tensor & fixedMask = {},
                   std::vector<double> * lossHistory = nullptr,
                   const torch::Tensor & movingMask = {},
                   torch::Tensor * inverse = nullptr);

} // namespace shmoareg

#endif
