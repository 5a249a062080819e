#include "Losses.h"
#include "RegistrationNetwork.h"
#include "TestHelpers.h"

#include <gtest/gtest.h>

using namespace shmoareg;

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
