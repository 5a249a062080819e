#include "PyramidDecoder.h"

#include "FieldIntegration.h"
#include "SpatialTransformer.h"

namespace shmoareg {

PyramidDecoder::PyramidDecoder(const std::vector<int> & encoderChannels, const NetworkConfig & config)
{
  const std::vector<int> widths = config.resolvedDecoderChannels();
  m_Blocks = register_module("blocks", torch::nn::ModuleList());
  m_Heads = register_module("heads", torch::nn::ModuleList());
  for (size_t level = 0; level < encoderChannels.size(); ++level)
  {
    m_Blocks->push_back(ConvActivation(2 * encoderChannels[level], widths[level]));
    const bool expert = config.spatialHeterogeneousMoE && level < static_cast<size_t>(kExpertLevels);
    m_Heads->push_back(
      FieldHead(widths[level], expert, config.expertKernels, config.diffeomorphic, config.integrationSteps));
  }
}

torch::Tensor
PyramidDecoder::decode(const StageFeatures & features, std::vector<ExpertRouting> & routing, torch::Tensor * inverse)
{
  torch::Tensor field;
  torch::Tensor fieldInverse; // the diffeomorphic variant's, when asked
  for (int level = static_cast<int>(features.moving.size()) - 1; level >= 0; --level)
  {
    torch::Tensor moving = features.moving[level];
    torch::Tensor coarse;
    if (field.defined())
    {
      coarse = upsampleDisplacementToFinerLevel(field, moving.sizes().slice(2));
      moving = warp(moving, coarse);
    }
    const torch::Tensor hidden =
      m_Blocks[level]->as<ConvActivationImpl>()->forward(torch::cat({ moving, features.fixed[level] }, 1));
    torch::Tensor residualInverse;
    const torch::Tensor residual =
      m_Heads[level]->as<FieldHeadImpl>()->forward(hidden, routing, inverse ? &residualInverse : nullptr);
    field = coarse.defined() ? composeDisplacements(coarse, residual) : residual;
    if (residualInverse.defined())
    {
      // (coarse then residual)^-1 = residual^-1 then coarse^-1.
      fieldInverse = fieldInverse.defined()
                       ? composeDisplacements(residualInverse,
                                              upsampleDisplacementToFinerLevel(fieldInverse, moving.sizes().slice(2)))
                       : residualInverse;
    }
  }
  if (inverse)
    *inverse = fieldInverse;
  return field;
}

} // namespace shmoareg
