#include "InstanceOptimization.h"

#include "FieldIntegration.h"
#include "SpatialTransformer.h"

#include <stdexcept>

namespace shmoareg {

torch::Tensor
jacobianDeterminant(const torch::Tensor & u)
{
  using torch::indexing::None;
  using torch::indexing::Slice;
  // d u / d axis a, all on the common [0, n - 1) corner grid.
  const auto corner = Slice(None, -1), next = Slice(1, None);
  const torch::Tensor base = u.index({ Slice(), Slice(), corner, corner, corner });
  const torch::Tensor d0 = u.index({ Slice(), Slice(), next, corner, corner }) - base;
  const torch::Tensor d1 = u.index({ Slice(), Slice(), corner, next, corner }) - base;
  const torch::Tensor d2 = u.index({ Slice(), Slice(), corner, corner, next }) - base;
  // J_ij = delta_ij + d u_i / d x_j; column j is d_j, row i is channel i.
  auto J = [&](int i, int j) {
    const torch::Tensor & d = j == 0 ? d0 : (j == 1 ? d1 : d2);
    torch::Tensor value = d.index({ Slice(), Slice(i, i + 1) });
    return i == j ? value + 1.0 : value;
  };
  return J(0, 0) * (J(1, 1) * J(2, 2) - J(1, 2) * J(2, 1)) - J(0, 1) * (J(1, 0) * J(2, 2) - J(1, 2) * J(2, 0)) +
         J(0, 2) * (J(1, 0) * J(2, 1) - J(1, 1) * J(2, 0));
}

namespace {
torch::Tensor
maskedSimilarity(const torch::Tensor & warped,
                 const torch::Tensor & fixed,
                 const torch::Tensor & mask,
                 Similarity similarity)
{
  if (similarity == Similarity::LocalNormalizedCrossCorrelation)
    return localNormalizedCrossCorrelation(mask.defined() ? warped * mask : warped,
                                           mask.defined() ? fixed * mask : fixed);
  if (!mask.defined())
    return meanSquaredError(warped, fixed);
  return (mask * (warped - fixed).pow(2)).sum() / mask.sum().clamp_min(1.0);
}
} // namespace

torch::Tensor
refineDisplacement(const torch::Tensor & moving,
                   const torch::Tensor & fixed,
                   const torch::Tensor & initial,
                   const InstanceOptimizationOptions & options,
                   const torch::Tensor & fixedMask,
                   std::vector<double> * lossHistory,
                   const torch::Tensor & movingMask,
                   torch::Tensor * inverse)
{
  if (options.iterations < 0 || !(options.learningRate > 0.0))
    throw std::invalid_argument("instance optimisation needs iterations >= 0 and a positive learning rate");
  if (initial.dim() != 5 || initial.size(1) != 3 || moving.sizes() != fixed.sizes() ||
      initial.sizes().slice(2) != fixed.sizes().slice(2))
    throw std::invalid_argument("instance optimisation needs a [1, 3, D, H, W] field on the images' grid");
  if ((fixedMask.defined() && fixedMask.sizes() != fixed.sizes()) ||
      (movingMask.defined() && movingMask.sizes() != moving.sizes()))
    throw std::invalid_argument("the masks must lie on the network grid");
  const torch::Tensor start = initial.detach();
  if (options.iterations == 0)
    return start.clone();

  torch::AutoGradMode gradients(true); // callers run under NoGradGuard
  torch::Tensor correction = torch::zeros_like(start).requires_grad_(true);
  torch::optim::Adam adam({ correction }, torch::optim::AdamOptions(options.learningRate));
  const torch::Tensor mask = fixedMask.defined() ? fixedMask.to(fixed.dtype()) : torch::Tensor();
  const torch::Tensor moverMask = movingMask.defined() ? movingMask.to(moving.dtype()) : torch::Tensor();
  // Where the similarity counts: the fixed mask times the moving mask carried by the field.
  auto weights = [&](const torch::Tensor & u) {
    if (!moverMask.defined())
      return mask;
    const torch::Tensor carried = warp(moverMask, u);
    return mask.defined() ? mask * carried : carried;
  };
  auto field = [&] {
    return options.diffeomorphic ? composeDisplacements(start, integrateVelocity(correction, options.integrationSteps))
                                 : start + correction;
  };
  for (int64_t i = 0; i < options.iterations; ++i)
  {
    adam.zero_grad();
    const torch::Tensor u = field();
    torch::Tensor loss = maskedSimilarity(warp(moving, u), fixed, weights(u), options.similarity) +
                         options.smoothnessWeight * smoothness(u);
    if (options.foldingWeight > 0.0)
      loss = loss + options.foldingWeight * torch::relu(-jacobianDeterminant(u)).mean();
    loss.backward();
    adam.step();
    if (lossHistory)
      lossHistory->push_back(loss.item<double>());
  }
  torch::NoGradGuard noGrad;
  if (inverse && inverse->defined())
    *inverse = options.diffeomorphic
                 ? composeDisplacements(integrateVelocity(-correction.detach(), options.integrationSteps), *inverse)
                 : torch::Tensor();
  return field().detach();
}

} // namespace shmoareg
