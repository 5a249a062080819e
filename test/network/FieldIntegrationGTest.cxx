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

// Level l's voxel i has its centre at full-resolution position 2^l i + (2^l - 1) / 2 and is
// 2^l full-resolution voxels wide (FieldIntegration.h). A physical displacement that is linear
// in position, sampled at the coarsest level in that level's voxels and upsampled through every
// level, must be the same displacement at full resolution.
TEST(FieldIntegration, UpsamplingThroughEveryLevelKeepsThePhysicalDisplacement)
{
  // The level sizes of a 97 x 100 x 91 volume in the Swin encoder (ceil halving; odd axes).
  std::vector<std::array<int64_t, 3>> levels{ { 97, 100, 91 } };
  for (int l = 1; l <= 5; ++l)
  {
    const auto & f = levels.back();
    levels.push_back({ (f[0] + 1) / 2, (f[1] + 1) / 2, (f[2] + 1) / 2 });
  }
  // u(x) = offset + slope * x per component, x in full-resolution voxels (i, j, k).
  const std::array<double, 3> offset{ 1.5, -2.0, 0.75 };
  const std::array<double, 3> slope{ 0.02, -0.01, 0.03 };
  auto sampled = [&](int level) {
    const auto & n = levels[level];
    const double scale = static_cast<double>(1 << level);
    torch::Tensor field = torch::zeros({ 1, 3, n[0], n[1], n[2] }, torch::kFloat64);
    for (int a = 0; a < 3; ++a)
    {
      std::vector<int64_t> shape{ 1, 1, 1 };
      shape[a] = n[a];
      const torch::Tensor x =
        (torch::arange(n[a], torch::kFloat64) * scale + (scale - 1.0) / 2.0).view(shape); // full-res position
      field.select(1, a).select(0, 0).copy_(((offset[a] + slope[a] * x) / scale).expand({ n[0], n[1], n[2] }));
    }
    return field;
  };
  torch::Tensor field = sampled(5);
  for (int level = 4; level >= 0; --level)
  {
    field = upsampleDisplacementToFinerLevel(field, { levels[level][0], levels[level][1], levels[level][2] });
    ASSERT_EQ(field.sizes(), torch::IntArrayRef({ 1, 3, levels[level][0], levels[level][1], levels[level][2] }));
  }
  // Linear interpolation is exact for a linear field away from the borders, where each level
  // clamps within half a voxel and the finer levels carry that inward: within 32 voxels.
  const auto inner = [](const torch::Tensor & x) {
    return x.index({ Slice(), Slice(), Slice(32, -32), Slice(32, -32), Slice(32, -32) });
  };
  EXPECT_LT(test_support::maxAbsDifference(inner(field), inner(sampled(0))), 1e-9);

  // A constant displacement of d full-resolution voxels is d / 2^l at level l, everywhere.
  const torch::Tensor coarse = constantField({ 0.5, -0.25, 1.0 }, { 2, 2, 2 }).to(torch::kFloat64);
  const torch::Tensor fine = upsampleDisplacementToFinerLevel(coarse, { 4, 3, 4 });
  EXPECT_LT(test_support::maxAbsDifference(fine, constantField({ 1.0, -0.5, 2.0 }, { 4, 3, 4 }).to(torch::kFloat64)),
            1e-12);
  EXPECT_THROW(upsampleDisplacementToFinerLevel(coarse, { 5, 4, 4 }), std::invalid_argument);
}

TEST(FieldIntegration, DecodersUpsampleFeaturesWithThePyramidGeometry)
{
  // A feature map that is linear in position is upsampled like the field's values are placed:
  // coarse voxel i at fine position 2i + 0.5.
  const torch::Tensor coarse = torch::arange(6, torch::kFloat64).view({ 1, 1, 6, 1, 1 }).expand({ 1, 1, 6, 2, 2 });
  const torch::Tensor fine = upsampleToFinerLevel(coarse, { 11, 4, 4 });
  for (int64_t j = 1; j < 10; ++j)
    EXPECT_NEAR(fine[0][0][j][1][1].item<double>(), (j - 0.5) / 2.0, 1e-12) << "fine voxel " << j;
}
