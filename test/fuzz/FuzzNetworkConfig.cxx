// libFuzzer target: a network configuration in JSON (model files and `train --config` carry one).
#include "NetworkConfig.h"

#include <cstdint>
#include <string>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  try
  {
    const shmoareg::NetworkConfig config =
      shmoareg::NetworkConfig::fromJson(std::string(reinterpret_cast<const char *>(data), size));
    // What is accepted round-trips.
    if (!(shmoareg::NetworkConfig::fromJson(config.toJson()) == config))
      __builtin_trap();
  }
  catch (const std::exception &)
  {}
  return 0;
}
