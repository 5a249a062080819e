#include "FieldIntegration.h"

#include "SpatialTransformer.h"

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
resizeDisplacement(const torch::Tensor & field, torch::IntArrayRef targetSize)
{
  const auto sourceSize = field.sizes().slice(2);
  if (sourceSize.vec() == targetSize.vec())
  {
    return field;
  }
  namespace F = torch::nn::functional;
  const torch::Tensor resized = F::interpolate(
    field, F::InterpolateFuncOptions().size(targetSize.vec()).mode(torch::kTrilinear).align_corners(true));
  std::vector<torch::Tensor> components;
  for (int axis = 0; axis < 3; ++axis)
  {
    const double ratio = sourceSize[axis] > 1
                           ? static_cast<double>(targetSize[axis] - 1) / static_cast<double>(sourceSize[axis] - 1)
                           : 1.0;
    components.push_back(resized.select(1, axis) * ratio);
  }
  return torch::stack(components, 1);
}

} // namespace shmoareg
