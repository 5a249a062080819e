#include "Losses.h"
#include "RegistrationNetwork.h"
#include "SpatialTransformer.h"
#include "TestHelpers.h"

#include <gtest/gtest.h>

#include <map>

using namespace shmoareg;
using torch::indexing::Slice;

TEST(Losses, MeanSquaredErrorOfKnownImages)
{
  const torch::Tensor a = torch::full({ 1, 1, 4, 4, 4 }, 0.75);
  const torch::Tensor b = torch::full({ 1, 1, 4, 4, 4 }, 0.25);
  EXPECT_NEAR(meanSquaredError(a, b).item<double>(), 0.25, 1e-7);
  EXPECT_EQ(meanSquaredError(a, a).item<double>(), 0.0);
}

TEST(Losses, SmoothnessOfALinearField)
{
  // u_W = a * w: forward differences a along W for one of three components, 0 elsewhere.
  const double a = 0.5;
  torch::Tensor u = torch::zeros({ 1, 3, 5, 6, 7 });
  u.select(1, 2).copy_(torch::arange(7, torch::kFloat).view({ 1, 1, 7 }).expand({ 5, 6, 7 }) * a);
  EXPECT_NEAR(smoothness(u).item<double>(), a * a / 9.0, 1e-7);
  EXPECT_EQ(smoothness(torch::ones({ 1, 3, 5, 6, 7 })).item<double>(), 0.0);
}

TEST(Losses, LocalCrossCorrelationIgnoresAffineIntensityChanges)
{
  torch::manual_seed(10);
  const torch::Tensor image = torch::rand({ 1, 1, 16, 16, 16 });
  EXPECT_LT(localNormalizedCrossCorrelation(image, image, 5).item<double>(), 1e-3);
  EXPECT_LT(localNormalizedCrossCorrelation(image, 2.0 * image + 1.0, 5).item<double>(), 1e-3);
  EXPECT_GT(localNormalizedCrossCorrelation(image, torch::rand({ 1, 1, 16, 16, 16 }), 5).item<double>(), 0.5);
}

TEST(Losses, RoutingClassificationLabelsFollowTheErrorQuantile)
{
  // 10 voxels x 3 directions = 30 errors: 0 .. 29. With q = 0.7 the threshold is the 21st
  // smallest (20): errors <= 20 are correct choices.
  ExpertRouting routing;
  routing.gateLogits = torch::zeros({ 1, 3, 3, 10, 1, 1 });
  routing.expertIds = torch::randint(0, 3, { 1, 3, 10, 1, 1 });
  const torch::Tensor gradient = -torch::arange(30, torch::kFloat).view({ 1, 3, 10, 1, 1 });
  const torch::Tensor labels = routingClassificationLabels(routing, gradient, 0.7);
  ASSERT_EQ(labels.sizes(), routing.gateLogits.sizes());
  for (int d = 0; d < 3; ++d)
    for (int v = 0; v < 10; ++v)
    {
      const bool correct = d * 10 + v <= 20;
      const int64_t chosen = routing.expertIds[0][d][v][0][0].item<int64_t>();
      for (int e = 0; e < 3; ++e)
      {
        const double expected = correct ? (e == chosen ? 1.0 : 0.0) : (e == chosen ? 0.0 : 0.5);
        EXPECT_EQ(labels[0][d][e][v][0][0].item<double>(), expected) << "direction " << d << " voxel " << v;
      }
    }
  // The loss is the BCE of the logits against these labels: at zero logits, log(2).
  EXPECT_NEAR(routingClassificationLoss(routing, gradient, 0.7).item<double>(), std::log(2.0), 1e-6);
}

namespace {
void
expectGradientsReachEveryParameter(const std::string & preset)
{
  torch::manual_seed(11);
  RegistrationNetwork network(test_support::smallPreset(preset));
  network->train();
  // 64^3: the coarsest Swin stage then has 2^3 tokens; at 32^3 it has one, and attention
  // over a single token passes no gradient to its query and key.
  const torch::Tensor moving = torch::rand({ 1, 1, 64, 64, 64 });
  const torch::Tensor fixed = torch::rand({ 1, 1, 64, 64, 64 });
  const RegistrationOutput output = network->forward(moving, fixed);
  LossWeights weights;
  const LossValues values = backwardTotalLoss(output, fixed, weights);
  EXPECT_TRUE(std::isfinite(values.total));
  EXPECT_GT(values.similarity, 0.0);
  for (const auto & p : network->named_parameters())
  {
    ASSERT_TRUE(p.value().grad().defined()) << preset << ": no gradient reaches " << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << preset << ": zero gradient at " << p.key();
  }
}
} // namespace

TEST(Losses, GradientsReachEveryParameterOfSHMoAReg) { expectGradientsReachEveryParameter("SHMoAReg"); }

TEST(Losses, GradientsReachEveryParameterOfSHMoARegDiff) { expectGradientsReachEveryParameter("SHMoAReg_diff"); }

TEST(Losses, GatesLearnOnlyThroughTheRoutingLoss)
{
  torch::manual_seed(12);
  RegistrationNetwork network(test_support::smallPreset("SHMoAReg"));
  network->train();
  const torch::Tensor moving = torch::rand({ 1, 1, 32, 32, 32 });
  const torch::Tensor fixed = torch::rand({ 1, 1, 32, 32, 32 });
  LossWeights withoutRouting;
  withoutRouting.routing = 0.0;
  backwardTotalLoss(network->forward(moving, fixed), fixed, withoutRouting);
  int gates = 0;
  for (const auto & p : network->named_parameters())
  {
    if (p.key().find("shmoe.gate") == std::string::npos)
      continue;
    ++gates;
    const torch::Tensor g = p.value().grad();
    EXPECT_TRUE(!g.defined() || g.abs().sum().item<double>() == 0.0) << p.key() << " learns from the task loss";
  }
  EXPECT_EQ(gates, 4); // weight and bias of the SHMoE gates at full and 1/2 resolution
}

TEST(Losses, KnownFieldLossOfKnownFields)
{
  // A field 3 voxels off along one axis inside a mask of 100 voxels and 0 outside: 9 voxels^2
  // over the mask, whatever the field does outside it; 0 for the true field itself.
  const torch::Tensor truth = torch::randn({ 1, 3, 8, 8, 8 });
  torch::Tensor mask = torch::zeros({ 1, 1, 8, 8, 8 });
  mask.view({ -1 }).narrow(0, 0, 100).fill_(1.0);
  torch::Tensor field = truth.clone();
  field.select(1, 2).add_(3.0 * mask.select(1, 0));
  field.add_(5.0 * (1.0 - mask)); // outside the mask: not counted
  const KnownField known{ truth, mask };
  EXPECT_NEAR(knownFieldLoss(field, known).item<double>(), 9.0, 1e-4);
  EXPECT_NEAR(knownFieldLoss(truth, known).item<double>(), 0.0, 1e-9);
}

TEST(Losses, SoftDiceOfKnownLabelMaps)
{
  // Two labels besides the background on a 4-voxel line: label 1 overlaps in 1 of 2 + 1
  // voxels (Dice 2/3), label 2 in 1 of 1 + 1 (Dice 1); background is left out.
  const torch::Tensor a = torch::tensor({ 0.f, 1.f, 1.f, 2.f }).view({ 1, 1, 4, 1, 1 });
  const torch::Tensor b = torch::tensor({ 0.f, 0.f, 1.f, 2.f }).view({ 1, 1, 4, 1, 1 });
  auto oneHot = [](const torch::Tensor & x) {
    return torch::one_hot(x.squeeze(1).to(torch::kInt64), 3).permute({ 0, 4, 1, 2, 3 }).to(torch::kFloat32);
  };
  EXPECT_NEAR(softDiceLoss(oneHot(a), oneHot(b)).item<double>(), 1.0 - (2.0 / 3.0 + 1.0) / 2.0, 1e-6);
  EXPECT_NEAR(softDiceLoss(oneHot(a), oneHot(a)).item<double>(), 0.0, 1e-6);
  // A label absent from both maps does not count.
  const torch::Tensor c = torch::tensor({ 0.f, 1.f, 1.f, 0.f }).view({ 1, 1, 4, 1, 1 });
  EXPECT_NEAR(softDiceLoss(oneHot(c), oneHot(c)).item<double>(), 0.0, 1e-6);
  EXPECT_THROW(softDiceLoss(oneHot(a), oneHot(a).index({ Slice(), Slice(0, 2) })), std::invalid_argument);
}

TEST(Losses, DiceTermMovesTheFieldTowardsTheFixedLabels)
{
  // The moving label block lies 2 voxels off the fixed one along axis 0; the Dice term's
  // gradient must push the displacement's axis-0 component towards +2 inside the block.
  torch::Tensor moving = torch::zeros({ 1, 1, 16, 8, 8 });
  torch::Tensor fixed = torch::zeros({ 1, 1, 16, 8, 8 });
  moving.index_put_({ 0, 0, Slice(6, 12) }, 1.0);
  fixed.index_put_({ 0, 0, Slice(4, 10) }, 1.0);
  auto oneHot = [](const torch::Tensor & x) {
    return torch::one_hot(x.squeeze(1).to(torch::kInt64), 2).permute({ 0, 4, 1, 2, 3 }).to(torch::kFloat32);
  };
  const LabelMaps maps{ oneHot(moving), oneHot(fixed) };
  RegistrationOutput output;
  output.displacement = torch::zeros({ 1, 3, 16, 8, 8 }, torch::requires_grad());
  output.warped = warp(moving, output.displacement);
  LossWeights weights;
  weights.dice = 1.0;
  weights.regularization = 0.0;
  const LossValues values = backwardTotalLoss(output, fixed, weights, &maps);
  EXPECT_NEAR(values.dice, 1.0 - 2.0 * 4.0 / 12.0, 1e-5);
  // Descending the loss moves the axis-0 displacement up at the fixed block's near edge.
  const torch::Tensor g = output.displacement.grad().index({ 0, 0, Slice(4, 6) });
  EXPECT_LT(g.sum().item<double>(), 0.0);
}

TEST(Losses, RoutingLossReachesOnlyTheGates)
{
  // Deterministic forward passes (eval mode): the routing term must change the gradients of
  // the gates and of nothing else.
  auto gradients = [](double routing) {
    torch::manual_seed(13);
    RegistrationNetwork network(test_support::smallPreset("SHMoAReg"));
    network->eval();
    torch::manual_seed(14);
    const torch::Tensor moving = torch::rand({ 1, 1, 32, 32, 32 });
    const torch::Tensor fixed = torch::rand({ 1, 1, 32, 32, 32 });
    LossWeights weights;
    weights.routing = routing;
    backwardTotalLoss(network->forward(moving, fixed), fixed, weights);
    std::map<std::string, torch::Tensor> grads;
    for (const auto & p : network->named_parameters())
      grads[p.key()] = p.value().grad().defined() ? p.value().grad().clone() : torch::zeros_like(p.value());
    return grads;
  };
  const auto without = gradients(0.0), with = gradients(1.0);
  int gatesChanged = 0;
  for (const auto & [name, g] : with)
  {
    const bool gate = name.find("shmoe.gate") != std::string::npos;
    const double change = (g - without.at(name)).abs().max().item<double>();
    if (gate)
      gatesChanged += change > 0.0;
    else
      EXPECT_EQ(change, 0.0) << name << " learns from the routing loss";
  }
  EXPECT_EQ(gatesChanged, 4);
}

TEST(Losses, LocalCrossCorrelationEqualsTheDirectWindowSums)
{
  // The loss's separable box filters against window sums by one w^3 convolution.
  torch::manual_seed(15);
  namespace F = torch::nn::functional;
  const torch::Tensor a = torch::rand({ 1, 1, 12, 10, 9 }, torch::kFloat64);
  const torch::Tensor b = a * 0.5 + torch::rand({ 1, 1, 12, 10, 9 }, torch::kFloat64) * 0.5;
  const int64_t w = 5;
  const torch::Tensor kernel = torch::ones({ 1, 1, w, w, w }, torch::kFloat64);
  auto sum = [&](const torch::Tensor & x) { return F::conv3d(x, kernel, F::Conv3dFuncOptions().padding(w / 2)); };
  const torch::Tensor n = sum(torch::ones_like(a));
  const torch::Tensor cross = sum(a * b) - sum(a) * sum(b) / n;
  const torch::Tensor va = sum(a * a) - sum(a) * sum(a) / n, vb = sum(b * b) - sum(b) * sum(b) / n;
  const double expected = 1.0 - (cross * cross / (va * vb + 1e-5)).mean().item<double>();
  EXPECT_NEAR(localNormalizedCrossCorrelation(a, b, w).item<double>(), expected, 1e-10);
}
