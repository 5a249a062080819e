// The 3D Swin Transformer encoder configured like TransMorph-small, with either multi-head
// self-attention (TM) or Mixture of Attention heads (SHMoAReg) in every block.
//
// Levels returned (full resolution first): a 3x3x3 conv at full resolution (16 channels) and
// one on the 2x average-pooled input (C/2), as TransMorph's convolutional skips; then the Swin
// stages at 1/4, 1/8, 1/16, 1/32 with C, 2C, 4C, 8C channels.
//
// Window rule (docs/design.md): per stage and axis, an axis that fits in the configured window
// is one window (and is not shifted, Swin's rule); a larger axis takes the window in
// [ceil(max / 2), max] that pads it least. The token grid is zero-padded up to a multiple of
// the window, padded tokens are masked out as keys and left out of the MoA routing losses;
// blocks alternate no shift and a cyclic shift of window / 2 along the axes larger than it.
#ifndef shmoareg_SwinEncoder_h
#define shmoareg_SwinEncoder_h

#include "ConvolutionBlocks.h"
#include "NetworkConfig.h"
#include "WindowAttention.h"

namespace shmoareg {

class SwinBlockImpl : public torch::nn::Module
{
public:
  SwinBlockImpl(int64_t dim,
                std::shared_ptr<WindowAttention> attention,
                bool shifted,
                const std::array<int, 3> & maxWindow,
                double mlpRatio,
                double dropPath);
  // x: [B, D, H, W, C] tokens.
  torch::Tensor
  forward(const torch::Tensor & x, MoAAuxiliaryLosses & auxiliary);

private:
  torch::Tensor
  dropPath(const torch::Tensor & x) const;

  bool m_Shifted;
  std::array<int, 3> m_MaxWindow;
  double m_DropPath;
  torch::nn::LayerNorm m_Norm1{ nullptr };
  torch::nn::LayerNorm m_Norm2{ nullptr };
  std::shared_ptr<WindowAttention> m_Attention;
  torch::nn::Sequential m_Mlp{ nullptr };
};
TORCH_MODULE(SwinBlock);

// Window geometry of a token grid: the window used, the cyclic shift and the padded size.
struct WindowLayout
{
  std::array<int64_t, 3> window{};
  std::array<int64_t, 3> shift{};
  std::array<int64_t, 3> padded{};
};
WindowLayout
windowLayout(const std::array<int64_t, 3> & grid, const std::array<int, 3> & maxWindow, bool shifted);

// Swin's region label of every token of the rolled, padded grid, per window: [windows, N].
// Tokens of different regions must not attend to each other.
torch::Tensor
windowRegionLabels(const WindowLayout & layout);
// 1 for the tokens of the (rolled) grid, 0 for its padding, per window: [windows, N].
torch::Tensor
windowValidTokens(const std::array<int64_t, 3> & grid, const WindowLayout & layout);
// The additive attention mask [windows, N, N] (-100 across regions and on padded keys), or
// undefined when nothing is masked.
torch::Tensor
windowAttentionMask(const std::array<int64_t, 3> & grid, const WindowLayout & layout);

class SwinEncoder : public FeatureEncoder
{
public:
  SwinEncoder(const NetworkConfig & config, int64_t inChannels);
  std::vector<torch::Tensor>
  encode(const torch::Tensor & volume, MoAAuxiliaryLosses & auxiliary) override;

private:
  int64_t m_PatchSize;
  ConvActivation m_FullResolution{ nullptr };
  ConvActivation m_HalfResolution{ nullptr };
  torch::nn::Conv3d m_PatchEmbedding{ nullptr };
  torch::nn::LayerNorm m_PatchNorm{ nullptr };
  torch::nn::ModuleList m_Stages{ nullptr }; // each a ModuleList of SwinBlock
  torch::nn::ModuleList m_StageNorms{ nullptr };
  torch::nn::ModuleList m_MergeNorms{ nullptr };
  torch::nn::ModuleList m_MergeReductions{ nullptr };
};

} // namespace shmoareg

#endif
