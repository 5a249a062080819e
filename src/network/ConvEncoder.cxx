#include "ConvEncoder.h"

namespace shmoareg {

ConvEncoder::ConvEncoder(int64_t inChannels, const std::vector<int> & channels)
{
  m_Levels = register_module("levels", torch::nn::ModuleList());
  int64_t previous = inChannels;
  for (size_t level = 0; level < channels.size(); ++level)
  {
    m_Levels->push_back(ConvActivation(previous, channels[level], 3, level == 0 ? 1 : 2));
    previous = channels[level];
  }
}

std::vector<torch::Tensor>
ConvEncoder::encode(const torch::Tensor & volume, MoAAuxiliaryLosses &)
{
  std::vector<torch::Tensor> features;
  torch::Tensor x = volume;
  for (const auto & level : *m_Levels)
  {
    x = level->as<ConvActivationImpl>()->forward(x);
    features.push_back(x);
  }
  return features;
}

} // namespace shmoareg
