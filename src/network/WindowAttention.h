// Attention inside 3D (shifted) windows of a Swin stage: the shared geometry, the interface,
// and the standard multi-head self-attention (W-MSA / SW-MSA) of Swin and TransMorph.
#ifndef shmoareg_WindowAttention_h
#define shmoareg_WindowAttention_h

#include "FeatureEncoder.h"

#include <array>

namespace shmoareg {

// What one attention call needs to know about the windows it runs in.
struct WindowGeometry
{
  std::array<int64_t, 3> window{}; // window actually used (<= the configured one)
  torch::Tensor relativeIndex;     // [N, N] int64 rows of the relative position bias table
  torch::Tensor mask;              // [windows per sample, N, N] additive (-100) or undefined
  torch::Tensor validTokens;       // [windows per sample, N] 1 / 0 for padding; undefined: all valid
};

// Relative position bias table of a window of at most maxWindow voxels per axis; any smaller
// window indexes a subset of it, so a model trained at one size runs at another.
int64_t
relativeBiasTableSize(const std::array<int, 3> & maxWindow);
torch::Tensor
relativePositionIndex(const std::array<int64_t, 3> & window,
                      const std::array<int, 3> & maxWindow,
                      const torch::Device & device);

class WindowAttention : public torch::nn::Module
{
public:
  // windows: [B * windows, N, C] tokens; returns the same shape.
  virtual torch::Tensor
  attend(const torch::Tensor & windows, const WindowGeometry & geometry, MoAAuxiliaryLosses & auxiliary) = 0;
};

// Swin's initialisation of a transformer linear layer: weights N(0, 0.02), bias 0.
void
initializeTransformerLinear(torch::nn::Linear & layer);

// Adds the shifted-window mask (if any) to attention logits [B * nW, heads, N, N].
torch::Tensor
addWindowMask(const torch::Tensor & logits, const torch::Tensor & mask);

class WindowMultiHeadAttention : public WindowAttention
{
public:
  WindowMultiHeadAttention(int64_t dim, int64_t heads, const std::array<int, 3> & maxWindow);
  torch::Tensor
  attend(const torch::Tensor & windows, const WindowGeometry & geometry, MoAAuxiliaryLosses & auxiliary) override;

private:
  int64_t m_Heads;
  double m_Scale;
  torch::nn::Linear m_QueryKeyValue{ nullptr };
  torch::nn::Linear m_Projection{ nullptr };
  torch::Tensor m_RelativeBiasTable; // [table size, heads]
};

} // namespace shmoareg

#endif
