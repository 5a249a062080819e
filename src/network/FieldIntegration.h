// Operations on displacement fields in voxel units (see SpatialTransformer.h for the layout).
#ifndef shmoareg_FieldIntegration_h
#define shmoareg_FieldIntegration_h

#include <torch/torch.h>

namespace shmoareg {

// Scaling and squaring: exp(v) of a stationary velocity field, v / 2^steps then `steps`
// self-compositions. steps = 0 returns v.
torch::Tensor
integrateVelocity(const torch::Tensor & velocity, int steps);

// The displacement of warping by `first` and then warping the result by `second`:
// warp(warp(I, first), second) = warp(I, composeDisplacements(first, second)), i.e.
// second(x) + first(x + second(x)). Outside samples of `first` take its border value.
torch::Tensor
composeDisplacements(const torch::Tensor & first, const torch::Tensor & second);

// Resamples a field to another grid of the same extent (trilinear, align_corners = true) and
// rescales each component by (n_target - 1) / (n_source - 1), its voxel-size ratio.
torch::Tensor
resizeDisplacement(const torch::Tensor & field, torch::IntArrayRef targetSize);

} // namespace shmoareg

#endif
