#include "Losses.h"

#include <stdexcept>

namespace shmoareg {

torch::Tensor
meanSquaredError(const torch::Tensor & warped, const torch::Tensor & fixed)
{
  return (warped - fixed).pow(2).mean();
}

torch::Tensor
localNormalizedCrossCorrelation(const torch::Tensor & warped, const torch::Tensor & fixed, int64_t window)
{
  namespace F = torch::nn::functional;
  const int64_t channels = warped.size(1);
  const torch::Tensor kernel = torch::ones({ channels, 1, window, window, window }, warped.options());
  auto windowSum = [&](const torch::Tensor & x) {
    return F::conv3d(x, kernel, F::Conv3dFuncOptions().padding(window / 2).groups(channels));
  };
  // Windows at the border hold fewer voxels: count them rather than assume window^3, so that
  // zero padding does not bias the statistics there.
  const torch::Tensor n = windowSum(torch::ones_like(warped));
  const torch::Tensor sumI = windowSum(warped), sumJ = windowSum(fixed);
  const torch::Tensor sumII = windowSum(warped * warped), sumJJ = windowSum(fixed * fixed);
  const torch::Tensor sumIJ = windowSum(warped * fixed);
  const torch::Tensor cross = sumIJ - sumI * sumJ / n;
  const torch::Tensor varI = sumII - sumI * sumI / n;
  const torch::Tensor varJ = sumJJ - sumJ * sumJ / n;
  return 1.0 - (cross * cross / (varI * varJ + 1e-5)).mean();
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

namespace {
torch::Tensor
taskLoss(const RegistrationOutput & output, const torch::Tensor & fixed, const LossWeights & w, LossValues & values)
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
    total = total + w.moaLoadBalance * output.moa.loadBalance + w.moaRouterZ * output.moa.routerZ;
    values.moaLoadBalance = output.moa.loadBalance.item<double>();
    values.moaRouterZ = output.moa.routerZ.item<double>();
  }
  values.total = total.item<double>();
  return total;
}
} // namespace

LossValues
backwardTotalLoss(const RegistrationOutput & output, const torch::Tensor & fixed, const LossWeights & w)
{
  LossValues values;
  const torch::Tensor task = taskLoss(output, fixed, w, values);
  // The RC term needs the graph through the gates afterwards.
  task.backward({}, /*retain_graph=*/!output.routing.empty());
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
evaluateLoss(const RegistrationOutput & output, const torch::Tensor & fixed, const LossWeights & w)
{
  torch::NoGradGuard noGrad;
  LossValues values;
  taskLoss(output, fixed, w, values);
  return values;
}

} // namespace shmoareg
