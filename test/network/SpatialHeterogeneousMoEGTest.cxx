#include "SpatialHeterogeneousMoE.h"
#include "TestHelpers.h"

#include <gtest/gtest.h>

using namespace shmoareg;

namespace {
// An expert's prediction computed from its own weights, independently of the layer.
torch::Tensor
expertByHand(SpatialHeterogeneousMoE & layer, int expert, const torch::Tensor & x)
{
  const auto params = layer->named_parameters();
  const torch::Tensor w = params["experts." + std::to_string(expert) + ".weight"];
  const torch::Tensor b = params["experts." + std::to_string(expert) + ".bias"];
  namespace F = torch::nn::functional;
  return F::conv3d(x, w, F::Conv3dFuncOptions().bias(b).padding(w.size(2) / 2));
}
} // namespace

TEST(SpatialHeterogeneousMoE, ChoosesExactlyOneExpertPerVoxelAndDirection)
{
  torch::manual_seed(5);
  SpatialHeterogeneousMoE layer(4, std::vector<int>{ 1, 3, 5 });
  const torch::Tensor x = torch::randn({ 2, 4, 6, 7, 8 });
  ExpertRouting routing;
  const torch::Tensor y = layer->forward(x, routing);
  ASSERT_EQ(y.sizes(), torch::IntArrayRef({ 2, 3, 6, 7, 8 }));
  ASSERT_EQ(routing.expertIds.sizes(), torch::IntArrayRef({ 2, 3, 6, 7, 8 }));
  ASSERT_EQ(routing.gateLogits.sizes(), torch::IntArrayRef({ 2, 3, 3, 6, 7, 8 }));
  EXPECT_EQ(routing.expertIds.scalar_type(), torch::kInt64);
  // The choice is the gate's argmax per voxel and per direction, recomputed here.
  const torch::Tensor logits = layer->gate->forward(x).view({ 2, 3, 3, 6, 7, 8 });
  EXPECT_TRUE(torch::equal(routing.expertIds, logits.argmax(2)));
  // Heterogeneous: with a random gate all three experts are chosen somewhere, and the three
  // directions of one voxel do not always share an expert.
  for (int e = 0; e < 3; ++e)
    EXPECT_GT((routing.expertIds == e).sum().item<int64_t>(), 0) << "expert " << e << " never chosen";
  EXPECT_GT((routing.expertIds.select(1, 0) != routing.expertIds.select(1, 1)).sum().item<int64_t>(), 0);
}

TEST(SpatialHeterogeneousMoE, EachDirectionEqualsItsChosenExpert)
{
  torch::manual_seed(6);
  SpatialHeterogeneousMoE layer(4, std::vector<int>{ 1, 3, 5 });
  {
    torch::NoGradGuard noGrad;
    for (auto & p : layer->parameters())
      p.normal_(0.0, 0.3); // experts start near zero; make their outputs distinct
  }
  const torch::Tensor x = torch::randn({ 1, 4, 6, 7, 8 });
  ExpertRouting routing;
  const torch::Tensor y = layer->forward(x, routing);
  for (int e = 0; e < 3; ++e)
  {
    const torch::Tensor expected = expertByHand(layer, e, x);
    const torch::Tensor chosen = routing.expertIds == e;
    ASSERT_GT(chosen.sum().item<int64_t>(), 0);
    EXPECT_LT(test_support::maxAbsDifference(y.masked_select(chosen), expected.masked_select(chosen)), 1e-5);
  }
}

TEST(SpatialHeterogeneousMoE, ForcedGateEqualsASingleExpert)
{
  torch::manual_seed(7);
  SpatialHeterogeneousMoE layer(4, std::vector<int>{ 1, 3, 5 });
  const torch::Tensor x = torch::randn({ 1, 4, 6, 7, 8 });
  const std::array<int, 3> forced{ 0, 2, 1 }; // expert per direction
  {
    torch::NoGradGuard noGrad;
    for (auto & p : layer->parameters())
      p.normal_(0.0, 0.3);
    layer->gate->weight.zero_();
    layer->gate->bias.zero_();
    for (int d = 0; d < 3; ++d)
      layer->gate->bias[d * 3 + forced[d]] = 1.0;
  }
  ExpertRouting routing;
  const torch::Tensor y = layer->forward(x, routing);
  for (int d = 0; d < 3; ++d)
  {
    EXPECT_TRUE((routing.expertIds.select(1, d) == forced[d]).all().item<bool>());
    EXPECT_LT(test_support::maxAbsDifference(y.select(1, d), expertByHand(layer, forced[d], x).select(1, d)), 1e-5);
  }
}

TEST(SpatialHeterogeneousMoE, UntrainedGateRoutesByFeaturesNotByItsBias)
{
  // Smooth zero-mean random features: an untrained gate must route by them, not send every voxel
  // of a direction to one expert.
  torch::manual_seed(31);
  SpatialHeterogeneousMoE moe(16, std::vector<int>{ 1, 3, 5 });
  namespace F = torch::nn::functional;
  const torch::Tensor features = F::interpolate(
    torch::randn({ 1, 16, 4, 4, 4 }),
    F::InterpolateFuncOptions().size(std::vector<int64_t>{ 16, 16, 16 }).mode(torch::kTrilinear).align_corners(false));
  ExpertRouting routing;
  torch::NoGradGuard noGrad;
  moe->forward(features, routing);
  for (int64_t d = 0; d < 3; ++d)
    for (int64_t e = 0; e < 3; ++e)
    {
      const double share = (routing.expertIds.select(1, d) == e).to(torch::kFloat).mean().item<double>();
      EXPECT_GT(share, 0.05) << "direction " << d << " expert " << e;
    }
}
