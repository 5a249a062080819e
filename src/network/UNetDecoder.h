// The U-shape decoder of VoxelMorph and TransMorph: from the coarsest joint features, upsample,
// concatenate the skip features of the next finer level, convolve; one field at full
// resolution. decoderChannels[l] is the width at level l (the coarsest entry is unused: the
// bottleneck is the encoder's coarsest features).
#ifndef shmoareg_UNetDecoder_h
#define shmoareg_UNetDecoder_h

#include "FieldDecoder.h"
#include "NetworkConfig.h"

namespace shmoareg {

class UNetDecoder : public FieldDecoder
{
public:
  UNetDecoder(const std::vector<int> & encoderChannels, const NetworkConfig & config);
  torch::Tensor
  decode(const StageFeatures & features, std::vector<ExpertRouting> & routing, torch::Tensor * inverse) override;

private:
  torch::nn::ModuleList m_Blocks{ nullptr }; // m_Blocks[l] for level l = 0 .. L-2
  FieldHead m_Head{ nullptr };
};

} // namespace shmoareg

#endif
