#include "MixtureOfAttentionHeads.h"
#include "TestHelpers.h"

#include <gtest/gtest.h>

using namespace shmoareg;
using torch::indexing::Slice;

namespace {
const std::array<int, 3> kWindow{ 2, 2, 2 };

WindowGeometry
geometry()
{
  WindowGeometry g;
  g.window = { 2, 2, 2 };
  g.relativeIndex = relativePositionIndex(g.window, kWindow, torch::kCPU);
  return g;
}

// Expert i's attention over the shared key and value, then its output projection, computed
// from the layer's weights with plain matrix products.
torch::Tensor
headByHand(MixtureOfAttentionHeads & moa, int64_t i, const torch::Tensor & x, const WindowGeometry & g)
{
  const int64_t d = moa.headDim(), n = x.size(1);
  const torch::Tensor wq = moa.queries->weight.index({ Slice(i * d, (i + 1) * d) });
  const torch::Tensor wo = moa.outputs->weight.index({ Slice(), Slice(i * d, (i + 1) * d) });
  const torch::Tensor q = x.matmul(wq.t());
  const torch::Tensor k = x.matmul(moa.key->weight.t());
  const torch::Tensor v = x.matmul(moa.value->weight.t());
  const torch::Tensor bias = moa.relativeBiasTable.index({ g.relativeIndex.flatten(), i }).view({ n, n });
  const torch::Tensor a = torch::softmax(q.matmul(k.transpose(1, 2)) / std::sqrt(static_cast<double>(d)) + bias, -1);
  return a.matmul(v).matmul(wo.t());
}
} // namespace

TEST(MixtureOfAttentionHeads, AllExpertsWithUniformRouterAverageTheHeads)
{
  torch::manual_seed(8);
  MixtureOfAttentionHeads moa(8, /*experts=*/4, /*topK=*/4, kWindow);
  moa.eval();
  // The router starts at zero: uniform probabilities.
  EXPECT_EQ(moa.router->weight.abs().sum().item<double>(), 0.0);
  const torch::Tensor x = torch::randn({ 3, 8, 8 });
  const WindowGeometry g = geometry();
  MoAAuxiliaryLosses aux;
  torch::NoGradGuard noGrad;
  const torch::Tensor y = moa.attend(x, g, aux);
  torch::Tensor expected = torch::zeros_like(y);
  for (int64_t i = 0; i < 4; ++i)
    expected += headByHand(moa, i, x, g) / 4.0;
  EXPECT_LT(test_support::maxAbsDifference(y, expected), 1e-5);
  // Uniform routing is perfectly balanced: the switch loss is exactly 1, the z-loss log(E)^2.
  EXPECT_NEAR(aux.loadBalance.item<double>(), 1.0, 1e-5);
  EXPECT_NEAR(aux.routerZ.item<double>(), std::pow(std::log(4.0), 2), 1e-5);
}

TEST(MixtureOfAttentionHeads, OnlyTheChosenHeadsContribute)
{
  torch::manual_seed(9);
  MixtureOfAttentionHeads moa(8, /*experts=*/4, /*topK=*/2, kWindow);
  moa.eval();
  torch::Tensor x = torch::randn({ 3, 8, 8 });
  x.index_put_({ Slice(), Slice(), 0 }, 5.0);
  {
    torch::NoGradGuard noGrad;
    // The router reads channel 0 only: logits (0, 5, 0, 4.5) for every token -> experts 1, 3.
    moa.router->weight.zero_();
    moa.router->weight.index_put_({ 1, 0 }, 1.0);
    moa.router->weight.index_put_({ 3, 0 }, 0.9);
  }
  const WindowGeometry g = geometry();
  MoAAuxiliaryLosses aux;
  torch::NoGradGuard noGrad;
  const torch::Tensor gates = moa.routingWeights(x);
  const double g1 = 1.0 / (1.0 + std::exp(-0.5)), g3 = 1.0 - g1;
  EXPECT_NEAR(gates[0][0][1].item<double>(), g1, 1e-5);
  EXPECT_NEAR(gates[0][0][3].item<double>(), g3, 1e-5);
  EXPECT_EQ(gates.select(-1, 0).abs().max().item<double>(), 0.0);
  EXPECT_EQ(gates.select(-1, 2).abs().max().item<double>(), 0.0);

  const torch::Tensor y = moa.attend(x, g, aux);
  const torch::Tensor expected = g1 * headByHand(moa, 1, x, g) + g3 * headByHand(moa, 3, x, g);
  EXPECT_LT(test_support::maxAbsDifference(y, expected), 1e-5);

  // Changing an unchosen expert's projections changes nothing.
  const int64_t d = moa.headDim();
  moa.queries->weight.index({ Slice(0, d) }).normal_();
  moa.outputs->weight.index({ Slice(), Slice(2 * d, 3 * d) }).normal_();
  EXPECT_LT(test_support::maxAbsDifference(moa.attend(x, g, aux), y), 1e-6);
}

TEST(MixtureOfAttentionHeads, RelativeIndexOfASmallerWindowStaysInTheTable)
{
  const torch::Tensor full = relativePositionIndex({ 5, 6, 7 }, { 5, 6, 7 }, torch::kCPU);
  const torch::Tensor clipped = relativePositionIndex({ 4, 4, 4 }, { 5, 6, 7 }, torch::kCPU);
  EXPECT_EQ(full.min().item<int64_t>(), 0);
  EXPECT_EQ(full.max().item<int64_t>(), relativeBiasTableSize({ 5, 6, 7 }) - 1);
  EXPECT_GE(clipped.min().item<int64_t>(), 0);
  EXPECT_LT(clipped.max().item<int64_t>(), relativeBiasTableSize({ 5, 6, 7 }));
  // Zero offset maps to the same row in both.
  EXPECT_EQ(full[0][0].item<int64_t>(), clipped[0][0].item<int64_t>());
}
