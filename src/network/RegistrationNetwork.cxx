#include "RegistrationNetwork.h"

#include "ConvEncoder.h"
#include "FieldIntegration.h"
#include "PyramidDecoder.h"
#include "SpatialTransformer.h"
#include "SwinEncoder.h"
#include "UNetDecoder.h"

#include <stdexcept>

namespace shmoareg {

RegistrationStageImpl::RegistrationStageImpl(const NetworkConfig & config)
  : m_DualStream(config.decoder == DecoderKind::Pyramid)
{
  // A pyramid decoder compares moving and fixed features level by level, so it needs two
  // streams (one encoder, shared weights); a U-shape decoder encodes the concatenated pair.
  const int64_t encoderInput = m_DualStream ? config.inChannels : 2 * config.inChannels;
  if (config.encoder == EncoderKind::Convolutional)
    m_Encoder = std::make_shared<ConvEncoder>(encoderInput, config.convEncoderChannels);
  else
    m_Encoder = std::make_shared<SwinEncoder>(config, encoderInput);
  register_module("encoder", m_Encoder);

  const std::vector<int> channels = config.encoderChannels();
  if (m_DualStream)
    m_Decoder = std::make_shared<PyramidDecoder>(channels, config);
  else
    m_Decoder = std::make_shared<UNetDecoder>(channels, config);
  register_module("decoder", m_Decoder);
}

torch::Tensor
RegistrationStageImpl::forward(const torch::Tensor & moving,
                               const torch::Tensor & fixed,
                               RegistrationOutput & output,
                               torch::Tensor * inverse)
{
  StageFeatures features;
  if (m_DualStream)
  {
    features.moving = m_Encoder->encode(moving, output.moa);
    features.fixed = m_Encoder->encode(fixed, output.moa);
  }
  else
  {
    features.joint = m_Encoder->encode(torch::cat({ moving, fixed }, 1), output.moa);
  }
  return m_Decoder->decode(features, output.routing, inverse);
}

RegistrationNetworkImpl::RegistrationNetworkImpl(const NetworkConfig & config)
  : m_Config(config)
{
  m_Config.validate();
  m_Stages = register_module("stages", torch::nn::ModuleList());
  for (int stage = 0; stage < config.cascades; ++stage)
  {
    m_Stages->push_back(RegistrationStage(config));
  }
}

RegistrationOutput
RegistrationNetworkImpl::forward(const torch::Tensor & moving,
                                 const torch::Tensor & fixed,
                                 bool computeInverse,
                                 int passes)
{
  if (passes < 1)
    throw std::invalid_argument("the network needs at least one pass, got " + std::to_string(passes));
  if (moving.dim() != 5 || fixed.dim() != 5 || moving.sizes() != fixed.sizes())
    throw std::invalid_argument("the network expects moving and fixed volumes of equal shape [B, C, D, H, W]");
  if (moving.size(1) != m_Config.inChannels)
    throw std::invalid_argument("the network was built for " + std::to_string(m_Config.inChannels) +
                                " channel(s) per image, got " + std::to_string(moving.size(1)));
  RegistrationOutput output;
  torch::Tensor warped = moving;
  for (int pass = 0; pass < passes; ++pass)
    for (const auto & stage : *m_Stages)
    {
      torch::Tensor stageInverse;
      const torch::Tensor field = stage->as<RegistrationStageImpl>()->forward(
        warped, fixed, output, computeInverse && m_Config.diffeomorphic ? &stageInverse : nullptr);
      if (stageInverse.defined()) // (earlier stages then this one)^-1 = this one's then theirs
        output.inverseDisplacement = output.inverseDisplacement.defined()
                                       ? composeDisplacements(stageInverse, output.inverseDisplacement)
                                       : stageInverse;
      output.displacement = output.displacement.defined() ? composeDisplacements(output.displacement, field) : field;
      // Each stage sees the original moving image warped once by the composed field, not a
      // re-interpolated chain.
      warped = warp(moving, output.displacement);
    }
  output.warped = warped;
  return output;
}

int64_t
RegistrationNetworkImpl::parameterCount() const
{
  int64_t count = 0;
  for (const auto & p : parameters())
    count += p.numel();
  return count;
}

} // namespace shmoareg
