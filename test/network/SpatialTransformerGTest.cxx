#include "SpatialTransformer.h"
#include "TestHelpers.h"

#include <gtest/gtest.h>

using namespace shmoareg;
using torch::indexing::Slice;

TEST(SpatialTransformer, IdentityGridHoldsVoxelIndices)
{
  const torch::Tensor grid = identityGrid({ 3, 4, 5 }, torch::kFloat);
  ASSERT_EQ(grid.sizes(), torch::IntArrayRef({ 1, 3, 3, 4, 5 }));
  EXPECT_EQ(grid[0][0][2][1][3].item<float>(), 2.0f);
  EXPECT_EQ(grid[0][1][2][1][3].item<float>(), 1.0f);
  EXPECT_EQ(grid[0][2][2][1][3].item<float>(), 3.0f);
}

// "Exactly" for linear interpolation means up to the float rounding of grid_sample's
// [-1, 1] coordinate normalisation (a few 1e-7 on unit-range values); nearest is bitwise.
constexpr double kFloatRounding = 4e-6;

TEST(SpatialTransformer, IdentityFieldWarpsExactly)
{
  torch::manual_seed(1);
  const torch::Tensor image = torch::rand({ 2, 3, 7, 9, 11 });
  const torch::Tensor zero = torch::zeros({ 2, 3, 7, 9, 11 });
  EXPECT_LT(test_support::maxAbsDifference(warp(image, zero), image), kFloatRounding);
  EXPECT_TRUE(torch::equal(warp(image, zero, Interpolation::Nearest), image));
}

TEST(SpatialTransformer, IntegerTranslationMovesVoxelsExactly)
{
  torch::manual_seed(2);
  const torch::Tensor image = torch::rand({ 1, 1, 12, 10, 14 });
  const std::array<int64_t, 3> shift{ 2, -1, 3 };
  torch::Tensor field = torch::zeros({ 1, 3, 12, 10, 14 });
  for (int a = 0; a < 3; ++a)
    field.select(1, a).fill_(static_cast<double>(shift[a]));
  const torch::Tensor warped = warp(image, field);
  // warped(x) = image(x + shift), checked where x + shift is inside the volume.
  const torch::Tensor inner = warped.index({ Slice(), Slice(), Slice(0, 12 - 2), Slice(1, 10), Slice(0, 14 - 3) });
  const torch::Tensor expected = image.index({ Slice(), Slice(), Slice(2, 12), Slice(0, 9), Slice(3, 14) });
  EXPECT_LT(test_support::maxAbsDifference(inner, expected), kFloatRounding);
  EXPECT_TRUE(torch::equal(warp(image, field, Interpolation::Nearest)
                             .index({ Slice(), Slice(), Slice(0, 12 - 2), Slice(1, 10), Slice(0, 14 - 3) }),
                           expected));
  // Outside samples are zero-padded.
  EXPECT_EQ(warped.index({ 0, 0, 11, 5, 5 }).item<float>(), 0.0f);
}

TEST(SpatialTransformer, NearestKeepsLabelValues)
{
  const torch::Tensor labels = torch::randint(0, 5, { 1, 1, 8, 8, 8 }).to(torch::kFloat);
  const torch::Tensor field = torch::rand({ 1, 3, 8, 8, 8 }) * 3.0 - 1.5;
  const torch::Tensor warped = warp(labels, field, Interpolation::Nearest, OutsidePadding::Border);
  EXPECT_TRUE(torch::equal(warped, warped.round()));
  EXPECT_GE(warped.min().item<float>(), 0.0f);
  EXPECT_LE(warped.max().item<float>(), 4.0f);
}

TEST(SpatialTransformer, FractionalShiftInterpolatesLinearly)
{
  // A linear ramp along W sampled half a voxel further is the ramp plus 0.5 * slope.
  const torch::Tensor ramp = torch::arange(10, torch::kFloat).view({ 1, 1, 1, 1, 10 }).expand({ 1, 1, 4, 5, 10 }) * 2.0;
  torch::Tensor field = torch::zeros({ 1, 3, 4, 5, 10 });
  field.select(1, 2).fill_(0.5);
  const torch::Tensor warped = warp(ramp.contiguous(), field);
  const torch::Tensor inner = warped.index({ Slice(), Slice(), Slice(), Slice(), Slice(0, 9) });
  const torch::Tensor expected = ramp.index({ Slice(), Slice(), Slice(), Slice(), Slice(0, 9) }) + 1.0;
  EXPECT_LT(test_support::maxAbsDifference(inner, expected), 1e-5);
}

TEST(SpatialTransformer, RejectsFieldsOfTheWrongShape)
{
  EXPECT_THROW(warp(torch::zeros({ 1, 1, 4, 4, 4 }), torch::zeros({ 1, 2, 4, 4, 4 })), std::invalid_argument);
  EXPECT_THROW(warp(torch::zeros({ 1, 4, 4, 4 }), torch::zeros({ 1, 3, 4, 4, 4 })), std::invalid_argument);
}
