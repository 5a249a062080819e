// Instance optimisation: the Jacobian determinant against an analytic linear map, and the
// refinement recovering a known shift from a zero start while keeping the field unfolded.
#include "FieldIntegration.h"
#include "InstanceOptimization.h"
#include "SpatialTransformer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

using namespace shmoareg;

namespace {
// A smooth blob centred at `centre` (voxels) on an n^3 grid: [1, 1, n, n, n].
torch::Tensor
blob(int64_t n, double centre0, double centre1, double centre2)
{
  const torch::Tensor grid = identityGrid({ n, n, n }, torch::kFloat);
  const torch::Tensor d2 =
    (grid[0][0] - centre0).pow(2) + (grid[0][1] - centre1).pow(2) + (grid[0][2] - centre2).pow(2);
  return torch::exp(-d2 / (2.0 * 3.0 * 3.0)).unsqueeze(0).unsqueeze(0);
}
} // namespace

TEST(InstanceOptimization, JacobianDeterminantOfALinearMapIsDetOfIPlusA)
{
  const double A[3][3] = { { 0.1, 0.05, -0.02 }, { 0.0, -0.2, 0.1 }, { 0.03, 0.0, 0.15 } };
  const torch::Tensor x = identityGrid({ 6, 7, 8 }, torch::kDouble);
  torch::Tensor u = torch::zeros_like(x);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j)
      u.select(1, i) += A[i][j] * x.select(1, j);
  const double expected = (1 + A[0][0]) * ((1 + A[1][1]) * (1 + A[2][2]) - A[1][2] * A[2][1]) -
                          A[0][1] * (A[1][0] * (1 + A[2][2]) - A[1][2] * A[2][0]) +
                          A[0][2] * (A[1][0] * A[2][1] - (1 + A[1][1]) * A[2][0]);
  const torch::Tensor det = jacobianDeterminant(u);
  EXPECT_EQ(det.sizes(), torch::IntArrayRef({ 1, 1, 5, 6, 7 }));
  EXPECT_NEAR(det.min().item<double>(), expected, 1e-12);
  EXPECT_NEAR(det.max().item<double>(), expected, 1e-12);
}

TEST(InstanceOptimization, RecoversAKnownShiftFromZero)
{
  torch::manual_seed(0);
  // moving(x) = fixed(x - s): the field that aligns them is u = +s.
  const torch::Tensor fixed = blob(24, 11.0, 12.0, 12.0);
  const torch::Tensor moving = blob(24, 13.0, 12.0, 11.0);
  InstanceOptimizationOptions options;
  options.iterations = 150;
  options.learningRate = 0.1;
  std::vector<double> losses;
  const torch::Tensor initial = torch::zeros({ 1, 3, 24, 24, 24 });
  const torch::Tensor u = refineDisplacement(moving, fixed, initial, options, {}, &losses);
  ASSERT_EQ(losses.size(), 150u);
  EXPECT_LT(losses.back(), 0.1 * losses.front());
  // Near the blob the field is the shift (2, 0, -1) voxels.
  EXPECT_NEAR(u[0][0][11][12][12].item<double>(), 2.0, 0.3);
  EXPECT_NEAR(u[0][1][11][12][12].item<double>(), 0.0, 0.3);
  EXPECT_NEAR(u[0][2][11][12][12].item<double>(), -1.0, 0.3);
  EXPECT_GT(jacobianDeterminant(u).min().item<double>(), 0.0);
  EXPECT_FALSE(u.requires_grad());
  EXPECT_TRUE(initial.eq(0).all().item<bool>()); // the start is copied, not changed
}

TEST(InstanceOptimization, DiffeomorphicRefinementComposesAfterThePrediction)
{
  const torch::Tensor fixed = blob(20, 9.0, 10.0, 10.0);
  const torch::Tensor moving = blob(20, 11.0, 10.0, 10.0);
  const torch::Tensor prediction = torch::full({ 1, 3, 20, 20, 20 }, 0.5);
  InstanceOptimizationOptions options;
  options.diffeomorphic = true;
  options.iterations = 0;
  EXPECT_TRUE(refineDisplacement(moving, fixed, prediction, options).equal(prediction));
  options.iterations = 60;
  options.learningRate = 0.05;
  std::vector<double> losses;
  const torch::Tensor u = refineDisplacement(moving, fixed, prediction, options, {}, &losses);
  EXPECT_LT(losses.back(), losses.front());
  EXPECT_GT(jacobianDeterminant(u).min().item<double>(), 0.0);
}

TEST(InstanceOptimization, AnEmptyMaskLeavesOnlyTheRegulariser)
{
  const torch::Tensor fixed = blob(16, 7.0, 8.0, 8.0);
  const torch::Tensor moving = blob(16, 9.0, 8.0, 8.0);
  InstanceOptimizationOptions options;
  options.iterations = 20;
  const torch::Tensor zero = torch::zeros({ 1, 3, 16, 16, 16 });
  const torch::Tensor u = refineDisplacement(moving, fixed, zero, options, torch::zeros_like(fixed));
  EXPECT_LT(u.abs().max().item<double>(), 1e-6); // nothing pulls the field away from 0
  const torch::Tensor v = refineDisplacement(moving, fixed, zero, options, {}, nullptr, torch::zeros_like(moving));
  EXPECT_LT(v.abs().max().item<double>(), 1e-6); // an empty moving mask: the same
  const torch::Tensor w = refineDisplacement(moving, fixed, zero, options, {}, nullptr, torch::ones_like(moving));
  EXPECT_GT(w.abs().max().item<double>(), 1e-3); // a full one lets the images pull
  EXPECT_THROW(refineDisplacement(moving, fixed, zero, options, torch::zeros({ 1, 1, 8, 8, 8 })),
               std::invalid_argument);
  options.learningRate = 0.0;
  EXPECT_THROW(refineDisplacement(moving, fixed, zero, options), std::invalid_argument);
}
