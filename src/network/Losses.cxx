#include "Losses.h"

#include "SpatialTransformer.h"

#include <array>
#include <stdexcept>
#include <vector>

namespace shmoareg {

torch::Tensor
meanSquaredError(const torch::Tensor & warped, const torch::Tensor & fixed)
{
  return (warped - fixed).pow(2).mean();
}

namespace {
// Window sums of every channel of x as three 1-D box filters (3 w multiply-adds a voxel, not
// w^3), zero padded: one grouped convolution an axis for all channels.
torch::Tensor
windowSum(const torch::Tensor & x, int64_t window)
{
  namespace F = torch::nn::functional;
  const int64_t channels = x.size(1);
  torch::Tensor sum = x;
  for (int axis = 0; axis < 3; ++axis)
  {
    std::vector<int64_t> shape{ channels, 1, 1, 1, 1 };
    shape[2 + axis] = window;
    std::vector<int64_t> padding{ 0, 0, 0 };
    padding[axis] = window / 2;
    sum = F::conv3d(sum, torch::ones(shape, x.options()), F::Conv3dFuncOptions().padding(padding).groups(channels));
  }
  return sum;
}
} // namespace

LocalNccFixedStatistics
localNccFixedStatistics(const torch::Tensor & fixed, int64_t window)
{
  LocalNccFixedStatistics statistics;
  statistics.fixed = fixed;
  statistics.window = window;
  const int64_t channels = fixed.size(1);
  const torch::Tensor sums = windowSum(torch::cat({ torch::ones_like(fixed), fixed, fixed * fixed }, 1), window);
  // Windows at the border hold fewer voxels: count them rather than assume window^3, so that
  // zero padding does not bias the statistics there.
  statistics.count = sums.narrow(1, 0, channels);
  statistics.sum = sums.narrow(1, channels, channels);
  statistics.sumOfSquares = sums.narrow(1, 2 * channels, channels);
  return statistics;
}

torch::Tensor
localNormalizedCrossCorrelation(const torch::Tensor & warped, const LocalNccFixedStatistics & fixed)
{
  const int64_t channels = warped.size(1);
  const torch::Tensor sums = windowSum(torch::cat({ warped, warped * warped, warped * fixed.fixed }, 1), fixed.window);
  const torch::Tensor sumI = sums.narrow(1, 0, channels), sumII = sums.narrow(1, channels, channels);
  const torch::Tensor sumIJ = sums.narrow(1, 2 * channels, channels);
  const torch::Tensor cross = sumIJ - sumI * fixed.sum / fixed.count;
  const torch::Tensor varI = sumII - sumI * sumI / fixed.count;
  const torch::Tensor varJ = fixed.sumOfSquares - fixed.sum * fixed.sum / fixed.count;
  return 1.0 - (cross * cross / (varI * varJ + 1e-5)).mean();
}

torch::Tensor
localNormalizedCrossCorrelation(const torch::Tensor & warped, const torch::Tensor & fixed, int64_t window)
{
  return localNormalizedCrossCorrelation(warped, localNccFixedStatistics(fixed, window));
}

torch::Tensor
softDiceLoss(const torch::Tensor & warpedLabels, const torch::Tensor & fixedLabels)
{
  if (warpedLabels.sizes() != fixedLabels.sizes() || warpedLabels.dim() != 5 || warpedLabels.size(1) < 2)
    throw std::invalid_argument("the Dice loss needs two label maps [B, L >= 2, D, H, W] of one shape");
  using torch::indexing::Slice;
  const torch::Tensor a = warpedLabels.index({ Slice(), Slice(1) }).flatten(2);
  const torch::Tensor b = fixedLabels.index({ Slice(), Slice(1) }).flatten(2);
  const torch::Tensor sum = a.sum(-1) + b.sum(-1); // [B, L - 1]
  const torch::Tensor present = (sum > 0).to(a.dtype());
  const torch::Tensor dice = 2.0 * (a * b).sum(-1) / sum.clamp_min(1e-6);
  return 1.0 - (dice * present).sum() / present.sum().clamp_min(1.0);
}

torch::Tensor
smoothness(const torch::Tensor & u)
{
  using torch::indexing::Slice;
  const torch::Tensor dd =
    u.index({ Slice(), Slice(), Slice(1, torch::indexing::None) }) - u.index({ Slice(), Slice(), Slice(0, -1) });
  const torch::Tensor dh = u.index({ Slice(), Slice(), Slice(), Slice(1, torch::indexing::None) }) -
                           u.index({ Slice(), Slice(), Slice(), Slice(0, -1) });
  const torch::Tensor dw = u.index({ Slice(), Slice(), Slice(), Slice(), Slice(1, torch::indexing::None) }) -
                           u.index({ Slice(), Slice(), Slice(), Slice(), Slice(0, -1) });
  return (dd.pow(2).mean() + dh.pow(2).mean() + dw.pow(2).mean()) / 3.0;
}

torch::Tensor
routingClassificationLabels(const ExpertRouting & routing, const torch::Tensor & outputGradient, double quantile)
{
  if (!outputGradient.defined())
    throw std::invalid_argument("routing-classification labels need the gradient at the SHMoE output");
  torch::NoGradGuard noGrad;
  const int64_t experts = routing.gateLogits.size(2);
  const torch::Tensor error = outputGradient.abs().flatten(1); // [B, 3 * voxels]
  // kthvalue rather than quantile: quantile's input size is capped (16M elements).
  const int64_t k = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(quantile * error.size(1))));
  const torch::Tensor threshold = std::get<0>(error.kthvalue(k, 1, /*keepdim=*/true));
  const torch::Tensor correct = (error <= threshold).view_as(outputGradient).unsqueeze(2); // [B, 3, 1, ...]
  const torch::Tensor chosen =
    torch::zeros_like(routing.gateLogits).scatter(2, routing.expertIds.unsqueeze(2), 1.0); // one-hot
  return torch::where(correct, chosen, (1.0 - chosen) / static_cast<double>(experts - 1));
}

torch::Tensor
routingClassificationLoss(const ExpertRouting & routing, const torch::Tensor & outputGradient, double quantile)
{
  return torch::binary_cross_entropy_with_logits(routing.gateLogits,
                                                 routingClassificationLabels(routing, outputGradient, quantile));
}

torch::Tensor
knownFieldLoss(const torch::Tensor & displacement, const KnownField & known)
{
  const torch::Tensor squared = (displacement - known.displacement).pow(2).sum(1, /*keepdim=*/true);
  return (known.mask * squared).sum() / known.mask.sum().clamp_min(1.0);
}

namespace {
torch::Tensor
taskLoss(const RegistrationOutput & output,
         const torch::Tensor & fixed,
         const LossWeights & w,
         const LabelMaps * labels,
         const KnownField * knownField,
         LossValues & values)
{
  const torch::Tensor sim = w.similarity == Similarity::MeanSquaredError
                              ? meanSquaredError(output.warped, fixed)
                              : localNormalizedCrossCorrelation(output.warped, fixed, w.nccWindow);
  const torch::Tensor reg = smoothness(output.displacement);
  torch::Tensor total = sim + w.regularization * reg;
  values.similarity = sim.item<double>();
  values.smoothness = reg.item<double>();
  if (output.moa.layers > 0)
  {
    const torch::Tensor balance = output.moa.meanLoadBalance(), z = output.moa.meanRouterZ();
    total = total + w.moaLoadBalance * balance + w.moaRouterZ * z;
    values.moaLoadBalance = balance.item<double>();
    values.moaRouterZ = z.item<double>();
  }
  if (w.dice > 0.0 && labels)
  {
    // Linear interpolation of the one-hot maps: the term is differentiable in the field.
    const torch::Tensor dice =
      softDiceLoss(warp(labels->moving, output.displacement, Interpolation::Linear), labels->fixed);
    total = total + w.dice * dice;
    values.dice = dice.item<double>();
  }
  if (w.knownField > 0.0 && knownField)
  {
    const torch::Tensor known = knownFieldLoss(output.displacement, *knownField);
    total = total + w.knownField * known;
    values.knownField = known.item<double>();
  }
  values.total = total.item<double>();
  return total;
}
} // namespace

LossValues
backwardTotalLoss(const RegistrationOutput & output,
                  const torch::Tensor & fixed,
                  const LossWeights & w,
                  const LabelMaps * labels,
                  const KnownField * knownField)
{
  LossValues values;
  const torch::Tensor task = taskLoss(output, fixed, w, labels, knownField, values);
  // The gates read detached features (SpatialHeterogeneousMoE.h): their graph is apart from
  // the task's, which can be freed now.
  task.backward();
  if (!output.routing.empty())
  {
    torch::Tensor rc = torch::zeros({}, task.options());
    for (const auto & layer : output.routing)
    {
      rc = rc + routingClassificationLoss(layer, layer.output.grad(), w.routingQuantile);
    }
    rc = rc / static_cast<double>(output.routing.size());
    (w.routing * rc).backward();
    values.routing = rc.item<double>();
    values.total += w.routing * values.routing;
  }
  return values;
}

LossValues
evaluateLoss(const RegistrationOutput & output,
             const torch::Tensor & fixed,
             const LossWeights & w,
             const LabelMaps * labels,
             const KnownField * knownField)
{
  torch::NoGradGuard noGrad;
  LossValues values;
  taskLoss(output, fixed, w, labels, knownField, values);
  return values;
}

} // namespace shmoareg
