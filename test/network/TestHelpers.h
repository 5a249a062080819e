// Shared helpers of the network tests.
#ifndef shmoareg_TestHelpers_h
#define shmoareg_TestHelpers_h

#include "NetworkConfig.h"

#include <torch/torch.h>

namespace shmoareg::test_support {

// A preset shrunk in width and depth (same structure) so that it trains a step in seconds.
inline NetworkConfig
smallPreset(const std::string & name)
{
  NetworkConfig config = makePreset(name);
  config.embedDim = 12;
  config.heads = { 2, 2, 2, 2 };
  config.depths = { 2, 2, 2, 2 };
  config.moaExperts = 4;
  config.moaTopK = 2;
  config.window = { 3, 3, 3 };
  config.dropPath = 0.0;
  config.convEncoderChannels = { 4, 8, 8, 8, 8 };
  config.decoderChannels.clear();
  if (config.encoder == EncoderKind::Convolutional)
    config.decoderChannels = { 4, 8, 8, 8, 8 };
  else
    config.decoderChannels = { 4, 8, 8, 8, 8, 8 };
  config.validate();
  return config;
}

inline double
maxAbsDifference(const torch::Tensor & a, const torch::Tensor & b)
{
  return (a - b).abs().max().item<double>();
}

} // namespace shmoareg::test_support

#endif
