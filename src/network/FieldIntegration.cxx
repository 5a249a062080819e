#include "FieldIntegration.h"

#include "SpatialTransformer.h"

#include <stdexcept>

namespace shmoareg {

torch::Tensor
integrateVelocity(const torch::Tensor & velocity, int steps)
{
  torch::Tensor field = velocity / static_cast<double>(1 << steps);
  for (int step = 0; step < steps; ++step)
  {
    field = field + warp(field, field, Interpolation::Linear, OutsidePadding::Border);
  }
  return field;
}

torch::Tensor
composeDisplacements(const torch::Tensor & first, const torch::Tensor & second)
{
  return second + warp(first, second, Interpolation::Linear, OutsidePadding::Border);
}

torch::Tensor
upsampleToFinerLevel(const torch::Tensor & x, torch::IntArrayRef targetSize)
{
  const auto sourceSize = x.sizes().slice(2);
  std::vector<int64_t> doubled;
  for (size_t axis = 0; axis < targetSize.size(); ++axis)
  {
    if (targetSize[axis] > 2 * sourceSize[axis] || targetSize[axis] < sourceSize[axis])
      throw std::invalid_argument("a finer level must have between 1 and 2 times the coarser level's voxels per axis");
    doubled.push_back(2 * sourceSize[axis]);
  }
  namespace F = torch::nn::functional;
  using torch::indexing::Slice;
  const torch::Tensor up =
    F::interpolate(x, F::InterpolateFuncOptions().size(doubled).mode(torch::kTrilinear).align_corners(false));
  return up.index({ Slice(), Slice(), Slice(0, targetSize[0]), Slice(0, targetSize[1]), Slice(0, targetSize[2]) });
}

torch::Tensor
upsampleDisplacementToFinerLevel(const torch::Tensor & field, torch::IntArrayRef targetSize)
{
  return 2.0 * upsampleToFinerLevel(field, targetSize);
}

} // namespace shmoareg
