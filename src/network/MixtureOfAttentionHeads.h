// Mixture of Attention heads (MoA, Zhang et al. 2022) inside Swin windows: the layer that
// SHMoAReg puts in place of every W-MSA / SW-MSA.
//
// A pool of E attention-head experts, each with its own query projection W_q^i and output
// projection W_o^i; one key and one value projection shared by all experts. A per-token
// router (logits = x W_gate, W_gate starts at 0, noisy gating while training as in MoA) picks
// the top k experts; their gates are renormalised to sum to one, and
//   y_t = sum_{i in topk(t)} g_i(t) W_o^i softmax(q_i K^T / sqrt(d) + B_i) V.
// Each expert has its own relative position bias B_i. The layer adds the switch-style
// load-balancing loss and the router z-loss to the auxiliary losses.
#ifndef shmoareg_MixtureOfAttentionHeads_h
#define shmoareg_MixtureOfAttentionHeads_h

#include "WindowAttention.h"

namespace shmoareg {

class MixtureOfAttentionHeads : public WindowAttention
{
public:
  // headDim defaults to dim / topK, so k selected heads cost what a k-head MSA costs.
  MixtureOfAttentionHeads(int64_t dim, int64_t experts, int64_t topK, const std::array<int, 3> & maxWindow);

  torch::Tensor
  attend(const torch::Tensor & windows, const WindowGeometry & geometry, MoAAuxiliaryLosses & auxiliary) override;

  // Per-token gates [tokens..., E]: the renormalised top-k probabilities, 0 elsewhere.
  // Exposed for tests and analysis.
  torch::Tensor
  routingWeights(const torch::Tensor & tokens, torch::Tensor * logitsOut = nullptr);

  int64_t
  experts() const
  {
    return m_Experts;
  }
  int64_t
  topK() const
  {
    return m_TopK;
  }
  int64_t
  headDim() const
  {
    return m_HeadDim;
  }

  torch::nn::Linear router{ nullptr };      // W_gate: dim -> E, no bias, starts at 0
  torch::nn::Linear routerNoise{ nullptr }; // noise scale of noisy top-k gating (training only)
  torch::nn::Linear queries{ nullptr };     // all experts' W_q^i stacked: dim -> E * d
  torch::nn::Linear key{ nullptr };         // shared: dim -> d
  torch::nn::Linear value{ nullptr };       // shared: dim -> d
  torch::nn::Linear outputs{ nullptr };     // all experts' W_o^i stacked: E * d -> dim
  torch::Tensor relativeBiasTable;          // [table size, E]

private:
  int64_t m_Experts;
  int64_t m_TopK;
  int64_t m_HeadDim;
};

} // namespace shmoareg

#endif
