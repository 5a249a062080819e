// Times one preset at one size: inference (no gradients), a training step (forward, the
// total loss and both backward passes) or the instance optimisation alone (`refine`: a
// refinement preset on a 1 mm grid of that size), and reports the process's peak resident
// memory. Each measurement runs in its own process (network_benchmark.sh) so that peaks do not
// mix.
//
//   shmoareg_network_benchmark --preset SHMoAReg --size 128|DxHxW --mode inference|train|refine
//                              [--repeats 3] [--threads 2] [--device cpu|cuda] [--refinement fast]
//                              [--model FILE]   (a model file's network instead of a preset's)
#include "Checkpoint.h"
#include "Device.h"
#include "Losses.h"
#include "MultiLevelRefinement.h"
#include "RegistrationNetwork.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>

using namespace shmoareg;

namespace {
double
peakResidentGiB()
{
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / (1024.0 * 1024.0); // ru_maxrss is in KiB
}

void
synchronize(const torch::Device & device)
{
  if (device.is_cuda())
  {
    // A tiny device->host copy waits for the queued kernels (works on LibTorch 1.13 and 2.x).
    (void)torch::zeros({ 1 }, torch::TensorOptions().device(device)).cpu();
  }
}
} // namespace

int
main(int argc, char * argv[])
{
  std::map<std::string, std::string> o{ { "preset", "SHMoAReg" }, { "size", "64" },   { "mode", "inference" },
                                        { "repeats", "3" },       { "threads", "2" }, { "device", "cpu" },
                                        { "refinement", "fast" }, { "model", "" } };
  for (int i = 1; i + 1 < argc; i += 2)
  {
    const std::string key = argv[i];
    if (key.rfind("--", 0) != 0 || !o.count(key.substr(2)))
    {
      std::cerr << "unknown argument " << key << "\n";
      return 2;
    }
    o[key.substr(2)] = argv[i + 1];
  }
  try
  {
    setThreadCount(std::stoi(o["threads"]));
    const torch::Device device = resolveDevice(o["device"]);
    // "128" or "48x60x48"
    std::vector<int64_t> size;
    for (size_t start = 0; start <= o["size"].size();)
    {
      const size_t x = std::min(o["size"].find('x', start), o["size"].size());
      size.push_back(std::stoll(o["size"].substr(start, x - start)));
      start = x + 1;
    }
    if (size.size() == 1)
      size = { size[0], size[0], size[0] };
    if (size.size() != 3)
      throw std::invalid_argument("--size takes N or DxHxW");
    const int repeats = std::stoi(o["repeats"]);
    const std::string mode = o["mode"];
    if (mode != "train" && mode != "inference" && mode != "refine")
      throw std::invalid_argument("--mode takes inference, train or refine");

    torch::manual_seed(0);
    // --model: the architecture (and weights) of a model file, e.g. the shipped one.
    RegistrationNetwork network =
      o["model"].empty() ? RegistrationNetwork(makePreset(o["preset"])) : loadCheckpoint(o["model"]).network;
    network->to(device);
    const auto options = torch::TensorOptions().device(device);
    const torch::Tensor moving = torch::rand({ 1, 1, size[0], size[1], size[2] }, options);
    const torch::Tensor fixed = torch::rand({ 1, 1, size[0], size[1], size[2] }, options);
    const MultiLevelRefinementOptions refinement = refinementPreset(o["refinement"]);
    torch::optim::Adam optimizer(network->parameters(), torch::optim::AdamOptions(1e-4));

    auto once = [&]() {
      if (mode == "refine")
      {
        (void)refineMultiLevel(
          moving, fixed, torch::zeros({ 1, 3, size[0], size[1], size[2] }, options), { 1.0, 1.0, 1.0 }, refinement);
      }
      else if (mode == "train")
      {
        network->train();
        optimizer.zero_grad();
        backwardTotalLoss(network->forward(moving, fixed), fixed, LossWeights());
        optimizer.step();
      }
      else
      {
        network->eval();
        torch::NoGradGuard noGrad;
        (void)network->forward(moving, fixed);
      }
      synchronize(device);
    };
    once(); // warm-up: allocator, oneDNN / cuDNN kernel selection
    std::vector<double> seconds;
    for (int r = 0; r < repeats; ++r)
    {
      const auto start = std::chrono::steady_clock::now();
      once();
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    std::cout << std::fixed << std::setprecision(3) << "preset=" << network->config().preset << " size=" << size[0]
              << "x" << size[1] << "x" << size[2] << " mode=" << o["mode"] << " device=" << device.str()
              << " threads=" << torch::get_num_threads() << " params_M=" << network->parameterCount() / 1e6
              << " median_s=" << seconds[seconds.size() / 2] << " min_s=" << seconds.front()
              << " peak_rss_GiB=" << peakResidentGiB() << " libtorch=" << TORCH_VERSION << "\n";
  }
  catch (const std::exception & error)
  {
    std::cerr << "benchmark failed: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
