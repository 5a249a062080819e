#include "Device.h"

#include <stdexcept>

namespace shmoareg {

torch::Device
resolveDevice(const std::string & name)
{
  if (name == "auto")
    return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (name == "cpu")
    return torch::Device(torch::kCPU);
  if (name.rfind("cuda", 0) == 0)
  {
    torch::Device device(torch::kCPU);
    try
    {
      device = torch::Device(name);
    }
    catch (const c10::Error &)
    {
      throw std::invalid_argument("unknown device '" + name + "' (use auto, cpu, cuda or cuda:N)");
    }
    if (!torch::cuda::is_available())
      throw std::invalid_argument("device '" + name +
                                  "' was requested but this LibTorch build or machine has no CUDA device");
    const int64_t index = device.has_index() ? device.index() : 0;
    if (index >= static_cast<int64_t>(torch::cuda::device_count()))
      throw std::invalid_argument("device '" + name + "' was requested but only " +
                                  std::to_string(torch::cuda::device_count()) + " CUDA device(s) exist");
    return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
  }
  throw std::invalid_argument("unknown device '" + name + "' (use auto, cpu, cuda or cuda:N)");
}

void
setThreadCount(int threads)
{
  if (threads < 0)
    throw std::invalid_argument("the number of threads must be >= 0");
  if (threads > 0)
    torch::set_num_threads(threads);
}

} // namespace shmoareg
