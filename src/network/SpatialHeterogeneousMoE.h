// Spatial Heterogeneous Mixture of Experts (SHMoE): the residual-field head that SHMoAReg uses
// at full and 1/2 resolution.
//
// E experts, each a 3D convolution (kernels 1, 3, 5 by default) predicting all three field
// components; a routing gate (3x3x3 convolution) gives logits per voxel, per direction and per
// expert. For every voxel and every direction separately, the top-1 expert is chosen and the
// output component is that expert's component, unweighted: the hard choice passes no gradient
// to the gate, which is trained by the routing-classification loss (Losses.h) alone: the gate
// reads detached features, so that loss reaches no other parameter.
#ifndef shmoareg_SpatialHeterogeneousMoE_h
#define shmoareg_SpatialHeterogeneousMoE_h

#include <torch/torch.h>

#include <vector>

namespace shmoareg {

// What one SHMoE layer decided, kept for the routing-classification loss and for callers
// (the ITK layer exposes expertIds as images).
struct ExpertRouting
{
  torch::Tensor gateLogits; // [B, 3, E, D, H, W]
  torch::Tensor expertIds;  // [B, 3, D, H, W] int64, the chosen expert per voxel and direction
  torch::Tensor output;     // [B, 3, D, H, W] the layer's output (its gradient defines the RC labels)
};

class SpatialHeterogeneousMoEImpl : public torch::nn::Module
{
public:
  SpatialHeterogeneousMoEImpl(int64_t inChannels, const std::vector<int> & kernels);

  // Returns the field; fills `routing`.
  torch::Tensor
  forward(const torch::Tensor & x, ExpertRouting & routing);

  // Every expert's prediction, [B, 3, E, D, H, W] (used by forward and by tests).
  torch::Tensor
  expertOutputs(const torch::Tensor & x);

  int64_t
  experts() const
  {
    return static_cast<int64_t>(m_Experts->size());
  }

  torch::nn::Conv3d gate{ nullptr };

private:
  torch::nn::ModuleList m_Experts{ nullptr };
};
TORCH_MODULE(SpatialHeterogeneousMoE);

} // namespace shmoareg

#endif
