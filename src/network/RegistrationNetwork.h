// A registration network assembled from a NetworkConfig: `cascades` stages, each an encoder
// (convolutional, Swin or Swin-MoA) and a decoder (U-shape or pyramid). Each further stage
// registers the moving image warped by the fields so far, and the fields are composed.
#ifndef shmoareg_RegistrationNetwork_h
#define shmoareg_RegistrationNetwork_h

#include "FeatureEncoder.h"
#include "FieldDecoder.h"
#include "NetworkConfig.h"

namespace shmoareg {

struct RegistrationOutput
{
  torch::Tensor displacement;         // [B, 3, D, H, W] voxels on the input grid (SpatialTransformer.h)
  torch::Tensor inverseDisplacement;  // its inverse from the negated velocities: the diffeomorphic
                                      // variant, when asked; undefined otherwise
  torch::Tensor warped;               // the moving image warped by `displacement`
  std::vector<ExpertRouting> routing; // every SHMoE layer in the order run; the last is full resolution
  MoAAuxiliaryLosses moa;             // summed over all MoA layers and both streams
};

class RegistrationStageImpl : public torch::nn::Module
{
public:
  explicit RegistrationStageImpl(const NetworkConfig & config);
  torch::Tensor
  forward(const torch::Tensor & moving,
          const torch::Tensor & fixed,
          RegistrationOutput & output,
          torch::Tensor * inverse = nullptr);

private:
  bool m_DualStream;
  std::shared_ptr<FeatureEncoder> m_Encoder;
  std::shared_ptr<FieldDecoder> m_Decoder;
};
TORCH_MODULE(RegistrationStage);

class RegistrationNetworkImpl : public torch::nn::Module
{
public:
  explicit RegistrationNetworkImpl(const NetworkConfig & config);

  // moving, fixed: [B, inChannels, D, H, W] on the same grid, intensities in [0, 1].
  // passes > 1 runs the stages again on the moving image warped by the field so far and
  // composes the fields (a recursive cascade of the same weights; an inference option: the
  // network is trained with one pass).
  RegistrationOutput
  forward(const torch::Tensor & moving, const torch::Tensor & fixed, bool computeInverse = false, int passes = 1);

  const NetworkConfig &
  config() const
  {
    return m_Config;
  }

  int64_t
  parameterCount() const;

private:
  NetworkConfig m_Config;
  torch::nn::ModuleList m_Stages{ nullptr };
};
TORCH_MODULE(RegistrationNetwork);

} // namespace shmoareg

#endif
