// The interface of the two decoder families (UNetDecoder, PyramidDecoder) and the field head
// they share.
#ifndef shmoareg_FieldDecoder_h
#define shmoareg_FieldDecoder_h

#include "ConvolutionBlocks.h"
#include "SpatialHeterogeneousMoE.h"

namespace shmoareg {

// Encoder features of one registration stage, full resolution first. Dual-stream decoders
// read `moving` and `fixed` (the same encoder, shared weights, run on each image);
// single-stream decoders read `joint` (the encoder run on the concatenated pair).
struct StageFeatures
{
  std::vector<torch::Tensor> moving;
  std::vector<torch::Tensor> fixed;
  std::vector<torch::Tensor> joint;
};

// Predicts one field from decoder features: a plain registration head or an SHMoE layer;
// in the diffeomorphic variant the prediction is a velocity, integrated by scaling and
// squaring into a displacement, and `inverse` (when given) receives exp(-v), its inverse.
class FieldHeadImpl : public torch::nn::Module
{
public:
  FieldHeadImpl(int64_t inChannels,
                bool spatialHeterogeneousMoE,
                const std::vector<int> & expertKernels,
                bool diffeomorphic,
                int integrationSteps);
  torch::Tensor
  forward(const torch::Tensor & x, std::vector<ExpertRouting> & routing, torch::Tensor * inverse = nullptr);

private:
  RegistrationHead m_Head{ nullptr };
  SpatialHeterogeneousMoE m_MoE{ nullptr };
  bool m_Diffeomorphic;
  int m_IntegrationSteps;
};
TORCH_MODULE(FieldHead);

class FieldDecoder : public torch::nn::Module
{
public:
  // Returns the displacement [B, 3, D, H, W] in voxels at full resolution; appends one
  // ExpertRouting per SHMoE layer run. In the diffeomorphic variant `inverse` (when given)
  // receives the inverse displacement from the negated velocities; otherwise it is left undefined.
  virtual torch::Tensor
  decode(const StageFeatures & features, std::vector<ExpertRouting> & routing, torch::Tensor * inverse = nullptr) = 0;
};

} // namespace shmoareg

#endif
