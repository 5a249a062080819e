// The network core on a CUDA device, compared with the same computation on the CPU. Every test
// here needs a GPU and skips with the reason where LibTorch sees none (ctest reports it as
// skipped); bench/gpu/gpu-check.sh runs them on a GPU machine.
#include "Checkpoint.h"
#include "FieldIntegration.h"
#include "Losses.h"
#include "MultiLevelRefinement.h"
#include "RegistrationNetwork.h"
#include "SpatialTransformer.h"
#include "TestHelpers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <unistd.h>

using namespace shmoareg;

#define SHMOAREG_SKIP_WITHOUT_CUDA()                                                                                   \
  if (!torch::cuda::is_available())                                                                                    \
  GTEST_SKIP() << "no CUDA device visible to LibTorch " << TORCH_VERSION                                               \
               << (torch::cuda::device_count() == 0 ? " (built without CUDA, or no GPU)" : "")

namespace {
const torch::Device cuda("cuda");

// The comparisons with the CPU run in full float32: by default cuDNN may use TF32 (10-bit
// mantissas) for float convolutions, which changes an untrained network's tiny outputs by a few
// per cent and would hide a real difference under a loose tolerance.
class Cuda : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    at::globalContext().setAllowTF32CuDNN(false);
    at::globalContext().setAllowTF32CuBLAS(false);
  }
};

// Mean |a - b| relative to mean |b|: the GPU's convolutions may use other algorithms (and TF32),
// and a voxel whose top-1 expert is a near tie may route the other way, so the comparison is of
// the whole field rather than voxel by voxel.
double
meanRelativeDifference(const torch::Tensor & a, const torch::Tensor & b)
{
  const torch::Tensor ac = a.detach().cpu().to(torch::kFloat64), bc = b.detach().cpu().to(torch::kFloat64);
  return (ac - bc).abs().mean().item<double>() / std::max(bc.abs().mean().item<double>(), 1e-12);
}

// The MoA routers start at zero, so every head scores alike and which k of them top-k keeps is
// up to the implementation (the GPU's and the CPU's differ). Trained routers have no such ties:
// give them small random weights before comparing devices.
void
breakRouterTies(RegistrationNetwork & network)
{
  torch::NoGradGuard noGrad;
  for (auto & p : network->named_parameters())
    if (p.key().find("attention.router.") != std::string::npos)
      p.value().copy_(0.05 * torch::randn(p.value().sizes()));
}

// Smooth blobs with a faint texture, as MultiLevelRefinementTest.
torch::Tensor
blobs(int64_t n)
{
  const auto grid = torch::meshgrid({ torch::arange(n), torch::arange(n), torch::arange(n) }, "ij");
  torch::Tensor image = torch::zeros({ n, n, n });
  const double centres[4][3] = { { 0.3, 0.3, 0.3 }, { 0.7, 0.4, 0.5 }, { 0.4, 0.7, 0.6 }, { 0.6, 0.6, 0.3 } };
  for (const auto & c : centres)
  {
    torch::Tensor r2 = torch::zeros_like(image);
    for (int a = 0; a < 3; ++a)
      r2 = r2 + (grid[a].to(torch::kFloat32) - c[a] * n).pow(2) / std::pow(0.12 * n, 2);
    image = image + torch::exp(-r2);
  }
  torch::manual_seed(5);
  return (image + 0.05 * torch::rand(image.sizes())).view({ 1, 1, n, n, n });
}
} // namespace

TEST_F(Cuda, EveryPresetPredictsOnTheGpuAsOnTheCpu)
{
  SHMOAREG_SKIP_WITHOUT_CUDA();
  for (const std::string & preset : presetNames())
  {
    torch::manual_seed(21);
    RegistrationNetwork network(test_support::smallPreset(preset));
    network->eval();
    breakRouterTies(network);
    const torch::Tensor moving = torch::rand({ 1, 1, 48, 40, 36 }), fixed = torch::rand({ 1, 1, 48, 40, 36 });
    torch::NoGradGuard noGrad;
    const RegistrationOutput onCpu = network->forward(moving, fixed);
    network->to(cuda);
    const RegistrationOutput onGpu = network->forward(moving.to(cuda), fixed.to(cuda));
    EXPECT_TRUE(onGpu.displacement.is_cuda()) << preset;
    EXPECT_TRUE(torch::isfinite(onGpu.displacement).all().item<bool>()) << preset;
    const double difference = meanRelativeDifference(onGpu.displacement, onCpu.displacement);
    std::cout << preset << ": displacement GPU vs CPU, mean relative difference " << difference << "\n";
    EXPECT_LT(difference, 0.01) << preset;
    EXPECT_LT(meanRelativeDifference(onGpu.warped, onCpu.warped), 1e-3) << preset;
    if (!onCpu.routing.empty())
    {
      const double sameExpert = onGpu.routing.back()
                                  .expertIds.cpu()
                                  .eq(onCpu.routing.back().expertIds)
                                  .to(torch::kFloat64)
                                  .mean()
                                  .item<double>();
      EXPECT_GT(sameExpert, 0.98) << preset << ": the GPU routes " << (1 - sameExpert) * 100
                                  << " % of voxels otherwise";
    }
  }
}

TEST_F(Cuda, ATrainingStepOnTheGpuGivesTheCpuLossAndGradients)
{
  SHMOAREG_SKIP_WITHOUT_CUDA();
  // In training the MoA routers add random noise (noisy top-k gating), which the GPU draws from
  // another generator: the comparison uses SHMoAReg's decoder (SHMoE, routing loss) on the plain
  // Swin encoder; AMoAEncoderTrainsOnTheGpu covers the MoA encoder.
  NetworkConfig config = test_support::smallPreset("SHMoAReg");
  config.encoder = EncoderKind::Swin;
  config.validate();
  torch::manual_seed(22);
  RegistrationNetwork network(config);
  network->train();
  const torch::Tensor moving = torch::rand({ 1, 1, 64, 64, 64 }), fixed = torch::rand({ 1, 1, 64, 64, 64 });
  const LossWeights weights;
  // Drop path is off in the small preset and the MoA routing is deterministic: the two passes
  // compute the same function.
  const LossValues onCpu = backwardTotalLoss(network->forward(moving, fixed), fixed, weights);
  std::vector<torch::Tensor> cpuGradients;
  for (const auto & p : network->parameters())
    cpuGradients.push_back(p.grad().clone());
  network->zero_grad();
  network->to(cuda);
  const LossValues onGpu =
    backwardTotalLoss(network->forward(moving.to(cuda), fixed.to(cuda)), fixed.to(cuda), weights);
  EXPECT_NEAR(onGpu.total, onCpu.total, 0.01 * std::abs(onCpu.total));
  EXPECT_NEAR(onGpu.similarity, onCpu.similarity, 0.01 * std::abs(onCpu.similarity));
  // Whole-gradient agreement; per parameter the gates and MoA routers see discrete choices
  // (top-1 experts, top-k heads, the routing labels' quantile) where a near tie may fall the
  // other way, so those are reported rather than held to the same tolerance.
  std::vector<torch::Tensor> gpuFlat, cpuFlat;
  std::vector<std::pair<double, std::string>> differences;
  size_t i = 0;
  for (const auto & p : network->named_parameters())
  {
    ASSERT_TRUE(p.value().grad().defined()) << p.key();
    EXPECT_TRUE(p.value().grad().is_cuda()) << p.key();
    gpuFlat.push_back(p.value().grad().cpu().flatten());
    cpuFlat.push_back(cpuGradients[i].flatten());
    differences.emplace_back(meanRelativeDifference(p.value().grad(), cpuGradients[i++]), p.key());
  }
  std::sort(differences.rbegin(), differences.rend());
  for (size_t k = 0; k < 3 && k < differences.size(); ++k)
    std::cout << "gradient difference GPU vs CPU " << differences[k].first << " at " << differences[k].second << "\n";
  const torch::Tensor g = torch::cat(gpuFlat).to(torch::kFloat64), c = torch::cat(cpuFlat).to(torch::kFloat64);
  const double relative = ((g - c).norm() / c.norm()).item<double>();
  std::cout << "whole gradient: relative difference GPU vs CPU " << relative << "\n";
  EXPECT_LT(relative, 0.01);
}

TEST_F(Cuda, AMoAEncoderTrainsOnTheGpu)
{
  SHMOAREG_SKIP_WITHOUT_CUDA();
  torch::manual_seed(25);
  RegistrationNetwork network(test_support::smallPreset("SHMoAReg"));
  network->to(cuda);
  network->train();
  const torch::Tensor moving = torch::rand({ 1, 1, 64, 64, 64 }, cuda), fixed = torch::rand({ 1, 1, 64, 64, 64 }, cuda);
  const LossValues values = backwardTotalLoss(network->forward(moving, fixed), fixed, LossWeights());
  EXPECT_TRUE(std::isfinite(values.total));
  for (const auto & p : network->named_parameters())
  {
    ASSERT_TRUE(p.value().grad().defined()) << "no gradient reaches " << p.key();
    EXPECT_TRUE(p.value().grad().is_cuda()) << p.key();
    EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0) << "zero gradient at " << p.key();
  }
}

TEST_F(Cuda, ScalingAndSquaringOnTheGpuEqualsTheCpu)
{
  SHMOAREG_SKIP_WITHOUT_CUDA();
  torch::manual_seed(23);
  const torch::Tensor velocity = torch::nn::functional::interpolate(3 * torch::randn({ 1, 3, 6, 6, 6 }),
                                                                    torch::nn::functional::InterpolateFuncOptions()
                                                                      .size(std::vector<int64_t>{ 32, 32, 32 })
                                                                      .mode(torch::kTrilinear)
                                                                      .align_corners(false));
  const torch::Tensor onCpu = integrateVelocity(velocity, 7);
  const torch::Tensor onGpu = integrateVelocity(velocity.to(cuda), 7);
  EXPECT_TRUE(onGpu.is_cuda());
  EXPECT_LT(test_support::maxAbsDifference(onGpu.cpu(), onCpu), 1e-3);
  EXPECT_LT(test_support::maxAbsDifference(warp(velocity.to(cuda), onGpu).cpu(), warp(velocity, onCpu)), 1e-3);
}

TEST_F(Cuda, TheRefinementOnTheGpuRecoversAKnownShiftAsTheCpuDoes)
{
  SHMOAREG_SKIP_WITHOUT_CUDA();
  const int64_t n = 40;
  const torch::Tensor moving = blobs(n);
  // 2.5 voxels of 2 mm along each axis: the fixed image is the moving one shifted (the border
  // brings in the edge value, so the comparison is inside).
  const torch::Tensor truth = torch::full({ 1, 3, n, n, n }, 2.5);
  const torch::Tensor fixed = warp(moving, truth);
  MultiLevelRefinementOptions options;
  options.levels = { { 2.0, 80 }, { 1.0, 60 } };
  options.smoothnessWeight = 0.05;
  const torch::Tensor onCpu = refineMultiLevel(moving, fixed, torch::zeros_like(truth), { 2.0, 2.0, 2.0 }, options);
  const torch::Tensor onGpu =
    refineMultiLevel(moving.to(cuda), fixed.to(cuda), torch::zeros_like(truth).to(cuda), { 2.0, 2.0, 2.0 }, options);
  EXPECT_TRUE(onGpu.is_cuda());
  using torch::indexing::Slice;
  const auto inner = [](const torch::Tensor & u) {
    return u.cpu().index({ Slice(), Slice(), Slice(6, -6), Slice(6, -6), Slice(6, -6) });
  };
  const auto errorMm = [&](const torch::Tensor & u) {
    return (inner(u) - inner(truth)).pow(2).sum(1).sqrt().mean().item<double>() * 2.0;
  };
  const double before = errorMm(torch::zeros_like(truth));
  std::cout << "mean end-point error from " << before << " mm: " << errorMm(onCpu) << " mm on the CPU, "
            << errorMm(onGpu) << " mm on the GPU\n";
  EXPECT_LT(errorMm(onGpu), 0.3 * before); // the CPU: 0.19
  EXPECT_NEAR(errorMm(onGpu), errorMm(onCpu), 0.1 * before);
  EXPECT_LT((inner(onGpu) - inner(onCpu)).abs().mean().item<double>(), 0.2); // voxels
}

TEST_F(Cuda, ACheckpointOfAGpuNetworkLoadsOnTheCpu)
{
  SHMOAREG_SKIP_WITHOUT_CUDA();
  torch::manual_seed(24);
  RegistrationNetwork network(test_support::smallPreset("SHMoAReg_diff"));
  network->to(cuda);
  const std::string path = testing::TempDir() + "cuda-checkpoint-" + std::to_string(getpid()) + ".pt";
  saveCheckpoint(path, network);
  const LoadedModel loaded = loadCheckpoint(path);
  std::remove(path.c_str());
  const auto saved = network->named_parameters();
  for (const auto & p : loaded.network->named_parameters())
  {
    EXPECT_FALSE(p.value().is_cuda()) << p.key();
    EXPECT_EQ(test_support::maxAbsDifference(p.value(), saved[p.key()].cpu()), 0.0) << p.key();
  }
}
