#include "WindowAttention.h"

namespace shmoareg {

int64_t
relativeBiasTableSize(const std::array<int, 3> & maxWindow)
{
  return static_cast<int64_t>(2 * maxWindow[0] - 1) * (2 * maxWindow[1] - 1) * (2 * maxWindow[2] - 1);
}

torch::Tensor
relativePositionIndex(const std::array<int64_t, 3> & window,
                      const std::array<int, 3> & maxWindow,
                      const torch::Device & device)
{
  const auto options = torch::TensorOptions().dtype(torch::kInt64);
  const torch::Tensor coords = torch::stack(torch::meshgrid({ torch::arange(window[0], options),
                                                              torch::arange(window[1], options),
                                                              torch::arange(window[2], options) },
                                                            "ij"),
                                            0)
                                 .flatten(1);                               // [3, N]
  const torch::Tensor relative = coords.unsqueeze(2) - coords.unsqueeze(1); // [3, N, N]
  const int64_t strideH = 2 * maxWindow[2] - 1;
  const int64_t strideD = (2 * maxWindow[1] - 1) * strideH;
  const torch::Tensor index = (relative[0] + (maxWindow[0] - 1)) * strideD +
                              (relative[1] + (maxWindow[1] - 1)) * strideH + (relative[2] + (maxWindow[2] - 1));
  return index.to(device);
}

void
initializeTransformerLinear(torch::nn::Linear & layer)
{
  torch::NoGradGuard noGrad;
  layer->weight.normal_(0.0, 0.02);
  if (layer->bias.defined())
    layer->bias.zero_();
}

torch::Tensor
addWindowMask(const torch::Tensor & logits, const torch::Tensor & mask)
{
  if (!mask.defined())
  {
    return logits;
  }
  const int64_t windows = mask.size(0);
  const auto s = logits.sizes();
  return (logits.view({ s[0] / windows, windows, s[1], s[2], s[3] }) + mask.unsqueeze(1).unsqueeze(0)).view(s);
}

WindowMultiHeadAttention::WindowMultiHeadAttention(int64_t dim, int64_t heads, const std::array<int, 3> & maxWindow)
  : m_Heads(heads)
  , m_Scale(1.0 / std::sqrt(static_cast<double>(dim / heads)))
{
  // TransMorph-small: no bias on the qkv projection.
  m_QueryKeyValue = register_module("qkv", torch::nn::Linear(torch::nn::LinearOptions(dim, 3 * dim).bias(false)));
  m_Projection = register_module("proj", torch::nn::Linear(dim, dim));
  initializeTransformerLinear(m_QueryKeyValue);
  initializeTransformerLinear(m_Projection);
  m_RelativeBiasTable = register_parameter("relative_position_bias_table",
                                           torch::randn({ relativeBiasTableSize(maxWindow), heads }) * 0.02);
}

torch::Tensor
WindowMultiHeadAttention::attend(const torch::Tensor & windows, const WindowGeometry & geometry, MoAAuxiliaryLosses &)
{
  const int64_t b = windows.size(0), n = windows.size(1), c = windows.size(2);
  const torch::Tensor qkv =
    m_QueryKeyValue->forward(windows).view({ b, n, 3, m_Heads, c / m_Heads }).permute({ 2, 0, 3, 1, 4 });
  const torch::Tensor q = qkv[0] * m_Scale, k = qkv[1], v = qkv[2];
  const torch::Tensor bias =
    m_RelativeBiasTable.index_select(0, geometry.relativeIndex.flatten()).view({ n, n, m_Heads }).permute({ 2, 0, 1 });
  torch::Tensor logits = q.matmul(k.transpose(-2, -1)) + bias.unsqueeze(0);
  const torch::Tensor attention = torch::softmax(addWindowMask(logits, geometry.mask), -1);
  return m_Projection->forward(attention.matmul(v).transpose(1, 2).reshape({ b, n, c }));
}

} // namespace shmoareg
