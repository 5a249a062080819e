// The VoxelMorph-like convolutional encoder: a 3x3x3 convolution at full resolution, then one
// stride-2 3x3x3 convolution per level.
#ifndef shmoareg_ConvEncoder_h
#define shmoareg_ConvEncoder_h

#include "ConvolutionBlocks.h"
#include "FeatureEncoder.h"

namespace shmoareg {

class ConvEncoder : public FeatureEncoder
{
public:
  ConvEncoder(int64_t inChannels, const std::vector<int> & channels);
  std::vector<torch::Tensor>
  encode(const torch::Tensor & volume, MoAAuxiliaryLosses & auxiliary) override;

private:
  torch::nn::ModuleList m_Levels;
};

} // namespace shmoareg

#endif
