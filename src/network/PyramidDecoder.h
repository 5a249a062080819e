// The coarse-to-fine pyramid decoder (NICE-Trans / RDP family) of SHMoAReg.
//
// At the coarsest level a field is predicted from the moving and fixed features. At every
// finer level l: the coarser field is upsampled to level l (values rescaled to level-l voxels),
// the moving features are warped by it, a residual field is predicted from the warped moving
// and the fixed features, and the two are composed (RDP's composition, which keeps the
// diffeomorphic variant diffeomorphic). SHMoE heads predict the residuals at full and 1/2
// resolution when enabled.
#ifndef shmoareg_PyramidDecoder_h
#define shmoareg_PyramidDecoder_h

#include "FieldDecoder.h"
#include "NetworkConfig.h"

namespace shmoareg {

class PyramidDecoder : public FieldDecoder
{
public:
  PyramidDecoder(const std::vector<int> & encoderChannels, const NetworkConfig & config);
  torch::Tensor
  decode(const StageFeatures & features, std::vector<ExpertRouting> & routing, torch::Tensor * inverse) override;

  // Levels whose residual head is an SHMoE layer.
  static constexpr int kExpertLevels = 2;

private:
  torch::nn::ModuleList m_Blocks{ nullptr }; // one per level
  torch::nn::ModuleList m_Heads{ nullptr };  // one FieldHead per level
};

} // namespace shmoareg

#endif
