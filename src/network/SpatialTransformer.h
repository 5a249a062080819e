// Warping by a dense displacement field in voxel units.
//
// Conventions used throughout the network core:
//  - volumes are [B, C, D, H, W]; a displacement field is [B, 3, D, H, W] whose channel c is
//    the displacement along spatial axis c of the tensor (D, H, W), in voxels;
//  - warp(source, u)(x) = source(x + u(x)), sampled with grid_sample(align_corners = true),
//    so voxel centres sit exactly on the sampling grid and an integer shift moves voxels
//    without interpolation.
#ifndef shmoareg_SpatialTransformer_h
#define shmoareg_SpatialTransformer_h

#include <torch/torch.h>

namespace shmoareg {

enum class Interpolation
{
  Linear, // trilinear, for images, features and fields
  Nearest // for label maps
};

enum class OutsidePadding
{
  Zeros, // samples outside the volume are 0 (images, features)
  Border // samples outside take the nearest border value (fields: keeps a constant field constant)
};

// [1, 3, D, H, W] voxel coordinates of every voxel, channel c = index along axis c.
torch::Tensor
identityGrid(torch::IntArrayRef spatialSize, const torch::TensorOptions & options);

torch::Tensor
warp(const torch::Tensor & source,
     const torch::Tensor & displacement,
     Interpolation interpolation = Interpolation::Linear,
     OutsidePadding padding = OutsidePadding::Zeros);

} // namespace shmoareg

#endif
