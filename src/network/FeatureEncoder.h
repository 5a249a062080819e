// The interface of the two encoder families (ConvEncoder, SwinEncoder).
#ifndef shmoareg_FeatureEncoder_h
#define shmoareg_FeatureEncoder_h

#include <torch/torch.h>

#include <vector>

namespace shmoareg {

// The Mixture-of-Attention-heads auxiliary losses, summed over every MoA layer run.
struct MoAAuxiliaryLosses
{
  // Sums over the MoA layers run (both streams); the losses use their means over layers, so
  // that their weight does not grow with the depth of the encoder.
  torch::Tensor loadBalance; // switch-style E * sum_i fraction_of_probability_i * fraction_of_tokens_i
  torch::Tensor routerZ;     // mean over tokens of logsumexp(router logits)^2
  int layers = 0;

  torch::Tensor
  meanLoadBalance() const
  {
    return loadBalance / static_cast<double>(layers);
  }
  torch::Tensor
  meanRouterZ() const
  {
    return routerZ / static_cast<double>(layers);
  }

  void
  add(const torch::Tensor & balance, const torch::Tensor & z)
  {
    loadBalance = loadBalance.defined() ? loadBalance + balance : balance;
    routerZ = routerZ.defined() ? routerZ + z : z;
    ++layers;
  }
};

class FeatureEncoder : public torch::nn::Module
{
public:
  // Features of one volume [B, C, D, H, W], full resolution first, each next level at about
  // half the size of the previous one.
  virtual std::vector<torch::Tensor>
  encode(const torch::Tensor & volume, MoAAuxiliaryLosses & auxiliary) = 0;
};

} // namespace shmoareg

#endif
