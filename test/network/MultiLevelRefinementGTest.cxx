#include "MultiLevelRefinement.h"
#include "SpatialTransformer.h"
#include "TestHelpers.h"

#include <gtest/gtest.h>

using namespace shmoareg;
using torch::indexing::Slice;

namespace {
// A smooth test image: a sum of Gaussian blobs at fixed positions (voxel units of the grid).
torch::Tensor
blobs(const std::array<int64_t, 3> & n)
{
  const auto options = torch::TensorOptions().dtype(torch::kFloat32);
  const auto grid =
    torch::meshgrid({ torch::arange(n[0], options), torch::arange(n[1], options), torch::arange(n[2], options) }, "ij");
  torch::Tensor image = torch::zeros({ n[0], n[1], n[2] });
  const double centres[6][3] = { { 0.3, 0.3, 0.3 }, { 0.7, 0.4, 0.5 }, { 0.4, 0.7, 0.6 },
                                 { 0.6, 0.6, 0.3 }, { 0.5, 0.3, 0.7 }, { 0.3, 0.6, 0.4 } };
  for (const auto & c : centres)
  {
    torch::Tensor r2 = torch::zeros_like(image);
    for (int a = 0; a < 3; ++a)
      r2 = r2 + (grid[a] - c[a] * n[a]).pow(2) / std::pow(0.12 * n[a], 2);
    image = image + torch::exp(-r2);
  }
  // A faint texture, as real images have: without it local NCC would match the blobs' tails
  // (structure of any contrast counts alike) in the otherwise empty background.
  torch::manual_seed(5);
  return (image + 0.05 * torch::rand(image.sizes())).view({ 1, 1, n[0], n[1], n[2] });
}

// A smooth displacement of at most `amplitudeMm` mm, in voxels of a grid of `spacing` mm.
torch::Tensor
smoothField(const std::array<int64_t, 3> & n, const std::array<double, 3> & spacing, double amplitudeMm)
{
  const auto options = torch::TensorOptions().dtype(torch::kFloat32);
  const auto grid =
    torch::meshgrid({ torch::arange(n[0], options), torch::arange(n[1], options), torch::arange(n[2], options) }, "ij");
  std::vector<torch::Tensor> components;
  for (int a = 0; a < 3; ++a)
  {
    const int b = (a + 1) % 3;
    components.push_back(amplitudeMm / spacing[a] * torch::sin(3.14159265 * grid[b] / (n[b] - 1)) *
                         torch::sin(3.14159265 * grid[a] / (n[a] - 1)));
  }
  return torch::stack(components, 0).unsqueeze(0);
}

double
meanEndPointErrorMm(const torch::Tensor & u, const torch::Tensor & truth, const std::array<double, 3> & spacing)
{
  const torch::Tensor scale = torch::tensor({ spacing[0], spacing[1], spacing[2] }).view({ 1, 3, 1, 1, 1 });
  const auto inner = Slice(4, -4);
  return ((u - truth) * scale)
    .index({ Slice(), Slice(), inner, inner, inner })
    .pow(2)
    .sum(1)
    .sqrt()
    .mean()
    .item<double>();
}

void
expectRecovery(const std::array<double, 3> & spacing, RefinementSimilarity similarity, double factor)
{
  const std::array<int64_t, 3> n{ 40, 44, 36 };
  const torch::Tensor moving = blobs(n);
  const torch::Tensor truth = smoothField(n, spacing, 4.0);
  const torch::Tensor fixed = warp(moving, truth); // fixed(x) = moving(x + truth(x))
  MultiLevelRefinementOptions options;
  options.levels = { { 2.0, 80 }, { 1.0, 60 } };
  options.smoothnessWeight = 0.05;
  options.similarity = similarity;
  std::vector<RefinementLevelReport> report;
  const torch::Tensor u = refineMultiLevel(moving, fixed, torch::zeros_like(truth), spacing, options, {}, {}, &report);
  ASSERT_EQ(report.size(), 2u);
  const double before = meanEndPointErrorMm(torch::zeros_like(truth), truth, spacing);
  const double after = meanEndPointErrorMm(u, truth, spacing);
  EXPECT_GT(before, 2.0);
  std::cout << "mean end-point error " << before << " mm -> " << after << " mm\n";
  EXPECT_LT(after, factor * before);
  EXPECT_LT(report.back().finalLoss, report.front().firstLoss);
}
} // namespace

TEST(MultiLevelRefinement, RecoversAKnownSmoothDeformation)
{
  expectRecovery({ 2.0, 2.0, 2.0 }, RefinementSimilarity::LocalNormalizedCrossCorrelation, 0.12); // measured 0.08-0.09
}

TEST(MultiLevelRefinement, RecoversAKnownSmoothDeformationOnAnAnisotropicGrid)
{
  expectRecovery({ 2.0, 2.0, 3.0 }, RefinementSimilarity::LocalNormalizedCrossCorrelation, 0.12); // measured 0.08-0.09
}

TEST(MultiLevelRefinement, RecoversAKnownSmoothDeformationWithMindSsc)
{
  expectRecovery({ 2.0, 2.0, 3.0 }, RefinementSimilarity::MindSsc, 0.4); // measured 0.31
}

TEST(MultiLevelRefinement, LevelGridsAreIsotropicInMillimetresAndNeverFinerThanTheImage)
{
  const auto coarse = refinementLevelSize({ 90, 108, 60 }, { 2.0, 2.0, 3.0 }, 4.0); // 8 mm voxels
  EXPECT_EQ(coarse, (std::array<int64_t, 3>{ 23, 27, 23 }));
  const auto own = refinementLevelSize({ 90, 108, 60 }, { 2.0, 2.0, 3.0 }, 1.0);
  EXPECT_EQ(own, (std::array<int64_t, 3>{ 90, 108, 60 }));
  const auto tiny = refinementLevelSize({ 6, 6, 6 }, { 1.0, 1.0, 1.0 }, 8.0);
  EXPECT_EQ(tiny, (std::array<int64_t, 3>{ 4, 4, 4 }));
}

TEST(MultiLevelRefinement, MindSscMatchesADirectComputation)
{
  torch::manual_seed(21);
  const torch::Tensor image = torch::rand({ 1, 1, 7, 6, 8 }, torch::kFloat64);
  const torch::Tensor mind = mindSscDescriptors(image, /*radius=*/1, /*dilation=*/1);
  ASSERT_EQ(mind.sizes(), torch::IntArrayRef({ 1, 12, 7, 6, 8 }));
  const auto a = image.accessor<double, 5>();
  auto at = [&](int64_t i, int64_t j, int64_t k) { // replicated borders
    auto clamp = [](int64_t x, int64_t n) { return std::min<int64_t>(std::max<int64_t>(x, 0), n - 1); };
    return a[0][0][clamp(i, 7)][clamp(j, 6)][clamp(k, 8)];
  };
  const int64_t six[6][3] = { { 1, 0, 0 }, { -1, 0, 0 }, { 0, 1, 0 }, { 0, -1, 0 }, { 0, 0, 1 }, { 0, 0, -1 } };
  std::vector<std::pair<int, int>> pairs;
  for (int p = 0; p < 6; ++p)
    for (int q = p + 1; q < 6; ++q)
      if (p / 2 != q / 2) // not the opposite neighbour
        pairs.emplace_back(p, q);
  ASSERT_EQ(pairs.size(), 12u);
  for (int64_t i : { 0, 3, 6 })
    for (int64_t j : { 0, 2, 5 })
      for (int64_t k : { 1, 4, 7 })
      {
        std::vector<double> distance;
        for (const auto & [p, q] : pairs)
        {
          double sum = 0.0;
          for (int64_t di = -1; di <= 1; ++di)
            for (int64_t dj = -1; dj <= 1; ++dj)
              for (int64_t dk = -1; dk <= 1; ++dk)
              {
                // The box mean replicates the border of the squared-difference image.
                auto clamp = [](int64_t x, int64_t n) { return std::min<int64_t>(std::max<int64_t>(x, 0), n - 1); };
                const int64_t x = clamp(i + di, 7), y = clamp(j + dj, 6), z = clamp(k + dk, 8);
                const double d =
                  at(x + six[p][0], y + six[p][1], z + six[p][2]) - at(x + six[q][0], y + six[q][1], z + six[q][2]);
                sum += d * d;
              }
          distance.push_back(sum / 27.0);
        }
        double variance = 0.0;
        for (double d : distance)
          variance += d / 12.0;
        for (size_t c = 0; c < 12; ++c)
          EXPECT_NEAR(mind[0][c][i][j][k].item<double>(), std::exp(-distance[c] / std::max(variance, 1e-6)), 1e-9)
            << "channel " << c << " at " << i << " " << j << " " << k;
      }
}

TEST(MultiLevelRefinement, AZeroFixedMaskLeavesTheStart)
{
  const std::array<int64_t, 3> n{ 24, 24, 24 };
  const torch::Tensor moving = blobs(n);
  const torch::Tensor fixed = warp(moving, smoothField(n, { 1.0, 1.0, 1.0 }, 3.0));
  MultiLevelRefinementOptions options;
  options.levels = { { 2.0, 20 }, { 1.0, 10 } };
  const torch::Tensor zero = torch::zeros({ 1, 3, 24, 24, 24 });
  const torch::Tensor masked =
    refineMultiLevel(moving, fixed, zero, { 1.0, 1.0, 1.0 }, options, torch::zeros_like(fixed));
  EXPECT_LT(masked.abs().max().item<double>(), 1e-6); // nothing to match: the start stays
  const torch::Tensor unmasked = refineMultiLevel(moving, fixed, zero, { 1.0, 1.0, 1.0 }, options);
  EXPECT_GT(unmasked.abs().max().item<double>(), 0.5);
}

TEST(MultiLevelRefinement, AutoStopsOnAConvergedPair)
{
  const std::array<int64_t, 3> n{ 24, 24, 24 };
  const torch::Tensor image = blobs(n);
  MultiLevelRefinementOptions options;
  options.levels = { { 1.0, 200 } };
  options.autoStop = true;
  std::vector<RefinementLevelReport> report;
  refineMultiLevel(image, image, torch::zeros({ 1, 3, 24, 24, 24 }), { 1.0, 1.0, 1.0 }, options, {}, {}, &report);
  ASSERT_EQ(report.size(), 1u);
  EXPECT_LT(report[0].iterations, 50); // aligned from the start: the loss stops improving at once
  options.autoStop = false;
  report.clear();
  refineMultiLevel(image, image, torch::zeros({ 1, 3, 24, 24, 24 }), { 1.0, 1.0, 1.0 }, options, {}, {}, &report);
  EXPECT_EQ(report[0].iterations, 200);
}

TEST(MultiLevelRefinement, BadSettingsAreClearErrors)
{
  MultiLevelRefinementOptions options;
  options.levels = { { 0.5, 10 } };
  EXPECT_THROW(options.validate(), std::invalid_argument); // finer than the image
  options.levels = { { 2.0, -1 } };
  EXPECT_THROW(options.validate(), std::invalid_argument);
  options.levels = { { 2.0, 10 } };
  options.nccWindow = 4;
  EXPECT_THROW(options.validate(), std::invalid_argument);
  EXPECT_THROW(refinementPreset("slow"), std::invalid_argument);
  EXPECT_TRUE(refinementPreset("none").levels.empty());
  const torch::Tensor image = torch::rand({ 1, 1, 8, 8, 8 });
  EXPECT_THROW(
    refineMultiLevel(image, image, torch::zeros({ 1, 3, 8, 8, 7 }), { 1.0, 1.0, 1.0 }, refinementPreset("fast")),
    std::invalid_argument);
  EXPECT_THROW(
    refineMultiLevel(image, image, torch::zeros({ 1, 3, 8, 8, 8 }), { 1.0, 0.0, 1.0 }, refinementPreset("fast")),
    std::invalid_argument);
}
