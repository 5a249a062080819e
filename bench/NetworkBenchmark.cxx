// Times one preset at one size: inference (no gradients) or a training step (forward, the
// total loss and both backward passes), and reports the process's peak resident memory.
// Each measurement runs in its own process (network_benchmark.sh) so that peaks do not mix.
//
//   shmoareg_network_benchmark --preset SHMoAReg --size 128 --mode inference|train
//                              [--repeats 3] [--threads 2] [--device cpu|cuda]
#include "Device.h"
#include "Losses.h"
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
                                        { "repeats", "3" },       { "threads", "2" }, { "device", "cpu" } };
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
    const int64_t n = std::stoi(o["size"]);
    const int repeats = std::stoi(o["repeats"]);
    const bool train = o["mode"] == "train";

    torch::manual_seed(0);
    RegistrationNetwork network(makePreset(o["preset"]));
    network->to(device);
    const auto options = torch::TensorOptions().device(device);
    const torch::Tensor moving = torch::rand({ 1, 1, n, n, n }, options);
    const torch::Tensor fixed = torch::rand({ 1, 1, n, n, n }, options);
    torch::optim::Adam optimizer(network->parameters(), torch::optim::AdamOptions(1e-4));

    auto once = [&]() {
      if (train)
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
    std::cout << std::fixed << std::setprecision(3) << "preset=" << o["preset"] << " size=" << n
              << " mode=" << o["mode"] << " device=" << device.str() << " threads=" << torch::get_num_threads()
              << " params_M=" << network->parameterCount() / 1e6 << " median_s=" << seconds[seconds.size() / 2]
              << " min_s=" << seconds.front() << " peak_rss_GiB=" << peakResidentGiB() << "\n";
  }
  catch (const std::exception & error)
  {
    std::cerr << "benchmark failed: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
