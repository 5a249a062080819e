#include "UNetDecoder.h"

#include "FieldIntegration.h"

namespace shmoareg {

UNetDecoder::UNetDecoder(const std::vector<int> & encoderChannels, const NetworkConfig & config)
{
  const std::vector<int> widths = config.resolvedDecoderChannels();
  const size_t levels = encoderChannels.size();
  m_Blocks = register_module("blocks", torch::nn::ModuleList());
  for (size_t level = 0; level + 1 < levels; ++level)
  {
    const int64_t below = level + 2 == levels ? encoderChannels[level + 1] : widths[level + 1];
    m_Blocks->push_back(ConvActivation(below + encoderChannels[level], widths[level]));
  }
  m_Head = register_module(
    "head",
    FieldHead(
      widths[0], config.spatialHeterogeneousMoE, config.expertKernels, config.diffeomorphic, config.integrationSteps));
}

torch::Tensor
UNetDecoder::decode(const StageFeatures & features, std::vector<ExpertRouting> & routing, torch::Tensor * inverse)
{
  const auto & skips = features.joint;
  torch::Tensor x = skips.back();
  for (int level = static_cast<int>(skips.size()) - 2; level >= 0; --level)
  {
    x = upsampleToFinerLevel(x, skips[level].sizes().slice(2));
    x = m_Blocks[level]->as<ConvActivationImpl>()->forward(torch::cat({ x, skips[level] }, 1));
  }
  return m_Head->forward(x, routing, inverse);
}

} // namespace shmoareg
