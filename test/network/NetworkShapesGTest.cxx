#include "FieldIntegration.h"
#include "RegistrationNetwork.h"
#include "SpatialTransformer.h"
#include "TestHelpers.h"

#include <gtest/gtest.h>

using namespace shmoareg;

namespace {
class PresetShapes : public ::testing::TestWithParam<std::string>
{};

void
expectShapes(const std::string & preset, std::vector<int64_t> size)
{
  torch::manual_seed(13);
  RegistrationNetwork network(makePreset(preset));
  network->eval();
  torch::NoGradGuard noGrad;
  const std::vector<int64_t> shape{ 1, 1, size[0], size[1], size[2] };
  const torch::Tensor moving = torch::rand(shape), fixed = torch::rand(shape);
  const RegistrationOutput output = network->forward(moving, fixed);
  EXPECT_EQ(output.displacement.sizes(), torch::IntArrayRef({ 1, 3, size[0], size[1], size[2] })) << preset;
  EXPECT_EQ(output.warped.sizes(), moving.sizes()) << preset;
  EXPECT_TRUE(torch::isfinite(output.displacement).all().item<bool>()) << preset;
  // Heads start at N(0, 1e-5): an untrained network is close to the identity.
  EXPECT_LT(output.displacement.abs().max().item<double>(), 0.5) << preset;

  const NetworkConfig & config = network->config();
  if (config.spatialHeterogeneousMoE)
  {
    ASSERT_EQ(output.routing.size(), static_cast<size_t>(2 * config.cascades)) << preset;
    const ExpertRouting & full = output.routing.back();
    EXPECT_EQ(full.expertIds.sizes(), torch::IntArrayRef({ 1, 3, size[0], size[1], size[2] })) << preset;
    EXPECT_EQ(full.gateLogits.size(2), 3) << preset;
    EXPECT_EQ(output.routing.front().expertIds.size(2), (size[0] + 1) / 2) << preset;
  }
  else
  {
    EXPECT_TRUE(output.routing.empty()) << preset;
  }
  EXPECT_EQ(output.moa.layers > 0, config.encoder == EncoderKind::SwinMoA) << preset;
}
} // namespace

TEST_P(PresetShapes, Cubic64) { expectShapes(GetParam(), { 64, 64, 64 }); }

TEST_P(PresetShapes, NonCubic)
{
  // Not a multiple of the encoders' 1/32 stride on any axis: padding and window clipping.
  expectShapes(GetParam(), { 40, 56, 36 });
}

INSTANTIATE_TEST_SUITE_P(AllPresets,
                         PresetShapes,
                         ::testing::ValuesIn(presetNames()),
                         [](const ::testing::TestParamInfo<std::string> & info) { return info.param; });

TEST(NetworkConfig, JsonRoundTripAndErrors)
{
  for (const auto & name : presetNames())
  {
    const NetworkConfig config = makePreset(name);
    EXPECT_EQ(NetworkConfig::fromJson(config.toJson()), config) << name;
  }
  EXPECT_THROW(makePreset("NoSuchNet"), std::invalid_argument);
  EXPECT_THROW(NetworkConfig::fromJson("{\"encoder\": \"lstm\"}"), std::invalid_argument);
  EXPECT_THROW(NetworkConfig::fromJson("{\"cascades\": 0}"), std::invalid_argument);
  EXPECT_THROW(NetworkConfig::fromJson("{\"unknown_field\": 1}"), std::invalid_argument);
  EXPECT_THROW(NetworkConfig::fromJson("not json"), std::invalid_argument);
  // Numbers are read strictly (the fuzzer's 2.1e24 as an int was undefined behaviour).
  EXPECT_THROW(NetworkConfig::fromJson("{\"embed_dim\": 2.1e24}"), std::invalid_argument);
  EXPECT_THROW(NetworkConfig::fromJson("{\"embed_dim\": 48.5}"), std::invalid_argument);
  EXPECT_THROW(NetworkConfig::fromJson("{\"depths\": [2, 2, 1e30, 2]}"), std::invalid_argument);
  EXPECT_THROW(NetworkConfig::fromJson("{\"window\": [5, 6]}"), std::invalid_argument);
  EXPECT_THROW(NetworkConfig::fromJson("{\"mlp_ratio\": \"four\"}"), std::invalid_argument);
  EXPECT_THROW(NetworkConfig::fromJson("{\"embed_dim\": 48, \"heads\": [5, 5, 5, 5], \"encoder\": \"swin\"}"),
               std::invalid_argument);
}

TEST(NetworkConfig, PresetsDifferByConfigurationOnly)
{
  EXPECT_EQ(makePreset("VM").cascades, 1);
  EXPECT_EQ(makePreset("2casVM").cascades, 2);
  EXPECT_EQ(makePreset("2casTM").encoder, EncoderKind::Swin);
  EXPECT_TRUE(makePreset("SHMoAReg_diff").diffeomorphic);
  EXPECT_FALSE(makePreset("Pyramid").spatialHeterogeneousMoE);
  EXPECT_EQ(makePreset("Pyramid").decoder, DecoderKind::Pyramid);
}

TEST(RegistrationNetwork, RejectsMismatchedInputs)
{
  RegistrationNetwork network(test_support::smallPreset("VM"));
  EXPECT_THROW(network->forward(torch::rand({ 1, 1, 16, 16, 16 }), torch::rand({ 1, 1, 16, 16, 12 })),
               std::invalid_argument);
  EXPECT_THROW(network->forward(torch::rand({ 1, 2, 16, 16, 16 }), torch::rand({ 1, 2, 16, 16, 16 })),
               std::invalid_argument);
}

TEST(RegistrationNetwork, ZeroHeadsGiveTheIdentity)
{
  // The cascade composes fields: two zero stages still give a zero field and the moving image.
  RegistrationNetwork network(test_support::smallPreset("2casVM"));
  torch::NoGradGuard noGrad;
  for (auto & p : network->named_parameters())
    if (p.key().find("head") != std::string::npos)
      p.value().zero_();
  const torch::Tensor moving = torch::rand({ 1, 1, 16, 16, 16 });
  const RegistrationOutput output = network->forward(moving, torch::rand({ 1, 1, 16, 16, 16 }));
  EXPECT_EQ(output.displacement.abs().max().item<double>(), 0.0);
  EXPECT_LT(test_support::maxAbsDifference(output.warped, moving), 4e-6);
}

TEST(RegistrationNetwork, DiffeomorphicInverseUndoesTheField)
{
  // The pyramid (SHMoE heads at two levels) and a two-stage cascade of it: the inverse built from
  // the negated velocities, composed in reverse order, undoes the field both ways, far better
  // than the negated field does; other variants give none.
  for (const int cascades : { 1, 2 })
  {
    NetworkConfig config = test_support::smallPreset("SHMoAReg_diff");
    config.cascades = cascades;
    torch::manual_seed(11);
    RegistrationNetwork network(config);
    network->eval();
    torch::NoGradGuard noGrad;
    for (auto & p : network->named_parameters())
      if (p.key().find("heads") != std::string::npos && p.key().find("weight") != std::string::npos)
        p.value().normal_(0.0, 0.02); // a field of about a voxel
    // Smooth images give smooth velocities, whose integration the grid resolves.
    auto smooth = [] {
      namespace F = torch::nn::functional;
      return F::interpolate(torch::rand({ 1, 1, 4, 4, 4 }),
                            F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{ 32, 32, 32 })
                              .mode(torch::kTrilinear)
                              .align_corners(true));
    };
    const torch::Tensor moving = smooth();
    const torch::Tensor fixed = smooth();
    const RegistrationOutput output = network->forward(moving, fixed, true);
    ASSERT_TRUE(output.inverseDisplacement.defined());
    const torch::Tensor u = output.displacement;
    const torch::Tensor v = output.inverseDisplacement;
    // Away from the border, where composition samples inside the grid.
    auto inner = [](const torch::Tensor & t) {
      using torch::indexing::Slice;
      return t.index({ Slice(), Slice(), Slice(6, -6), Slice(6, -6), Slice(6, -6) });
    };
    const double size = inner(u).abs().mean().item<double>();
    const double forwardThenInverse = inner(composeDisplacements(u, v)).abs().mean().item<double>();
    const double inverseThenForward = inner(composeDisplacements(v, u)).abs().mean().item<double>();
    const double negated = inner(composeDisplacements(u, -u)).abs().mean().item<double>();
    std::cout << cascades << " stage(s): |u| " << size << ", |u o v| " << forwardThenInverse << ", |v o u| "
              << inverseThenForward << ", |u o -u| " << negated << " voxels\n";
    EXPECT_GT(size, 0.3);
    EXPECT_LT(forwardThenInverse, 0.05 * size);
    EXPECT_LT(inverseThenForward, 0.05 * size);
    EXPECT_LT(forwardThenInverse, 0.5 * negated);
  }
  RegistrationNetwork plain(test_support::smallPreset("SHMoAReg"));
  torch::NoGradGuard noGrad;
  EXPECT_FALSE(plain->forward(torch::rand({ 1, 1, 32, 32, 32 }), torch::rand({ 1, 1, 32, 32, 32 }), true)
                 .inverseDisplacement.defined());
}

TEST(RegistrationNetwork, FurtherPassesRegisterTheWarpedImageAndCompose)
{
  // passes = 2 is the network run on the moving image warped by its first field, the two
  // fields composed; the diffeomorphic inverse composes the inverses in reverse order.
  for (const std::string preset : { "VM", "SHMoAReg_diff" })
  {
    torch::manual_seed(5);
    RegistrationNetwork network(test_support::smallPreset(preset));
    network->eval();
    torch::NoGradGuard noGrad;
    for (auto & p : network->named_parameters())
      if (p.key().find("head") != std::string::npos && p.key().find("weight") != std::string::npos)
        p.value().normal_(0.0, 0.02); // a field of about a voxel
    const torch::Tensor moving = torch::rand({ 1, 1, 32, 32, 32 });
    const torch::Tensor fixed = torch::rand({ 1, 1, 32, 32, 32 });
    const bool inverse = network->config().diffeomorphic;
    const RegistrationOutput first = network->forward(moving, fixed, inverse);
    const RegistrationOutput second = network->forward(warp(moving, first.displacement), fixed, inverse);
    const RegistrationOutput twoPasses = network->forward(moving, fixed, inverse, 2);
    const torch::Tensor expected = composeDisplacements(first.displacement, second.displacement);
    EXPECT_GT(test_support::maxAbsDifference(twoPasses.displacement, first.displacement), 0.01) << preset;
    EXPECT_LT(test_support::maxAbsDifference(twoPasses.displacement, expected), 1e-4) << preset;
    EXPECT_LT(test_support::maxAbsDifference(twoPasses.warped, warp(moving, expected)), 1e-4) << preset;
    if (inverse)
    {
      const torch::Tensor expectedInverse = composeDisplacements(second.inverseDisplacement, first.inverseDisplacement);
      EXPECT_LT(test_support::maxAbsDifference(twoPasses.inverseDisplacement, expectedInverse), 1e-4) << preset;
    }
    EXPECT_THROW(network->forward(moving, fixed, false, 0), std::invalid_argument) << preset;
  }
}
