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

// Feature levels of the encoders that feed a pyramid or U-shape decoder halve the grid by
// pooling or merging 2 x 2 x 2 blocks (the last block zero-padded on odd axes): coarse voxel i
// covers fine voxels 2i and 2i + 1, its centre at fine position 2i + 0.5, whatever the sizes.
// These two functions are that geometry's one implementation, used by every decoder.
//
// Trilinear upsampling by exactly 2 (half-voxel centres, align_corners = false), cropped to
// `targetSize` (each at most twice the source size).
torch::Tensor
upsampleToFinerLevel(const torch::Tensor & x, torch::IntArrayRef targetSize);

// The same for a displacement in voxels: values doubled, since a coarse voxel is exactly two
// fine ones.
torch::Tensor
upsampleDisplacementToFinerLevel(const torch::Tensor & field, torch::IntArrayRef targetSize);

} // namespace shmoareg

#endif
