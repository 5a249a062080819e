#include "SpatialTransformer.h"

#include <stdexcept>

namespace shmoareg {

torch::Tensor
identityGrid(torch::IntArrayRef spatialSize, const torch::TensorOptions & options)
{
  std::vector<torch::Tensor> axes;
  for (int64_t n : spatialSize)
  {
    axes.push_back(torch::arange(n, options));
  }
  return torch::stack(torch::meshgrid(axes, "ij"), 0).unsqueeze(0);
}

torch::Tensor
warp(const torch::Tensor & source,
     const torch::Tensor & displacement,
     Interpolation interpolation,
     OutsidePadding padding)
{
  if (source.dim() != 5 || displacement.dim() != 5 || displacement.size(1) != 3)
  {
    throw std::invalid_argument("warp expects a [B, C, D, H, W] source and a [B, 3, D, H, W] displacement");
  }
  const auto spatial = displacement.sizes().slice(2);
  const torch::Tensor locations = identityGrid(spatial, displacement.options()) + displacement;
  // Normalise to [-1, 1] (align_corners = true); grid_sample wants (x, y, z) = (W, H, D) last.
  std::vector<torch::Tensor> normalised(3);
  for (int axis = 0; axis < 3; ++axis)
  {
    const int64_t n = spatial[axis];
    const double scale = n > 1 ? 2.0 / static_cast<double>(n - 1) : 0.0;
    normalised[2 - axis] = locations.select(1, axis) * scale - 1.0;
  }
  const torch::Tensor grid = torch::stack(normalised, -1);
  const int64_t mode = interpolation == Interpolation::Linear ? 0 : 1;
  const int64_t paddingMode = padding == OutsidePadding::Zeros ? 0 : 1;
  return torch::grid_sampler(source, grid.to(source.dtype()), mode, paddingMode, /*align_corners=*/true);
}

} // namespace shmoareg
