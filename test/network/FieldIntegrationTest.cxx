#include "FieldIntegration.h"
#include "SpatialTransformer.h"
#include "TestHelpers.h"

#include <gtest/gtest.h>

using namespace shmoareg;
using torch::indexing::Slice;

namespace {
torch::Tensor
constantField(const std::array<double, 3> & value, torch::IntArrayRef size)
{
  torch::Tensor field = torch::zeros({ 1, 3, size[0], size[1], size[2] });
  for (int a = 0; a < 3; ++a)
    field.select(1, a).fill_(value[a]);
  return field;
}
} // namespace

TEST(FieldIntegration, ZeroVelocityIntegratesToZero)
{
  EXPECT_EQ(integrateVelocity(torch::zeros({ 1, 3, 6, 7, 8 }), 7).abs().max().item<float>(), 0.0f);
}

TEST(FieldIntegration, ConstantVelocityIntegratesToItself)
{
  const torch::Tensor v = constantField({ 0.3, -0.2, 0.45 }, { 9, 10, 11 });
  EXPECT_LT(test_support::maxAbsDifference(integrateVelocity(v, 7), v), 1e-5);
  EXPECT_TRUE(torch::equal(integrateVelocity(v, 0), v));
}

TEST(FieldIntegration, SmoothVelocityIntegratesToAnInvertibleMap)
{
  // exp(v) composed with exp(-v) is the identity (up to interpolation error).
  torch::manual_seed(3);
  namespace F = torch::nn::functional;
  const torch::Tensor coarse = torch::randn({ 1, 3, 3, 3, 3 }) * 1.5;
  const torch::Tensor v = F::interpolate(
    coarse,
    F::InterpolateFuncOptions().size(std::vector<int64_t>{ 24, 24, 24 }).mode(torch::kTrilinear).align_corners(true));
  const torch::Tensor forward = integrateVelocity(v, 7);
  const torch::Tensor backward = integrateVelocity(-v, 7);
  const torch::Tensor roundTrip = composeDisplacements(forward, backward);
  const torch::Tensor inner = roundTrip.index({ Slice(), Slice(), Slice(4, 20), Slice(4, 20), Slice(4, 20) });
  EXPECT_GT(forward.abs().max().item<double>(), 0.5);
  EXPECT_LT(inner.abs().max().item<double>(), 0.05);
}

TEST(FieldIntegration, TranslationComposedWithItsNegativeIsZero)
{
  const torch::Tensor t = constantField({ 2.0, -1.0, 3.0 }, { 10, 11, 12 });
  EXPECT_LT(composeDisplacements(t, -t).abs().max().item<double>(), 1e-6);
}

TEST(FieldIntegration, CompositionMatchesWarpingTwice)
{
  // warp(warp(I, a), b) == warp(I, compose(a, b)) for integer translations, away from borders.
  torch::manual_seed(4);
  const torch::Tensor image = torch::rand({ 1, 1, 16, 16, 16 });
  const torch::Tensor a = constantField({ 1.0, 2.0, 0.0 }, { 16, 16, 16 });
  const torch::Tensor b = constantField({ 0.0, -1.0, 2.0 }, { 16, 16, 16 });
  const torch::Tensor twice = warp(warp(image, a), b);
  const torch::Tensor once = warp(image, composeDisplacements(a, b));
  const auto inner = [](const torch::Tensor & x) {
    return x.index({ Slice(), Slice(), Slice(2, 12), Slice(2, 12), Slice(2, 12) });
  };
  EXPECT_LT(test_support::maxAbsDifference(inner(twice), inner(once)), 4e-6); // float rounding of the grid
}

TEST(FieldIntegration, ResizeRescalesToTargetVoxels)
{
  // One coarse voxel of an 8-voxel axis spans (16 - 1) / (8 - 1) fine voxels of a 16-voxel axis.
  const torch::Tensor coarse = constantField({ 1.0, 2.0, -1.0 }, { 8, 8, 4 });
  const torch::Tensor fine = resizeDisplacement(coarse, { 16, 16, 8 });
  ASSERT_EQ(fine.sizes(), torch::IntArrayRef({ 1, 3, 16, 16, 8 }));
  EXPECT_NEAR(fine[0][0][3][4][5].item<double>(), 15.0 / 7.0, 1e-5);
  EXPECT_NEAR(fine[0][1][3][4][5].item<double>(), 2.0 * 15.0 / 7.0, 1e-5);
  EXPECT_NEAR(fine[0][2][3][4][5].item<double>(), -7.0 / 3.0, 1e-5);
}
