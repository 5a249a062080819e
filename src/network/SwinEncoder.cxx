#include "SwinEncoder.h"

#include "MixtureOfAttentionHeads.h"

namespace shmoareg {

namespace {
namespace F = torch::nn::functional;

// Zero-pads the three spatial axes of channel-last tokens [B, D, H, W, C] at their ends.
torch::Tensor
padTokens(const torch::Tensor & x, const std::array<int64_t, 3> & target)
{
  const int64_t pd = target[0] - x.size(1), ph = target[1] - x.size(2), pw = target[2] - x.size(3);
  if (pd == 0 && ph == 0 && pw == 0)
  {
    return x;
  }
  return F::pad(x, F::PadFuncOptions({ 0, 0, 0, pw, 0, ph, 0, pd }));
}

// [B, D, H, W, C] -> [B * windows, N, C]
torch::Tensor
partitionWindows(const torch::Tensor & x, const std::array<int64_t, 3> & w)
{
  const int64_t b = x.size(0), d = x.size(1), h = x.size(2), wd = x.size(3), c = x.size(4);
  return x.view({ b, d / w[0], w[0], h / w[1], w[1], wd / w[2], w[2], c })
    .permute({ 0, 1, 3, 5, 2, 4, 6, 7 })
    .reshape({ -1, w[0] * w[1] * w[2], c });
}

// [B * windows, N, C] -> [B, D, H, W, C]
torch::Tensor
mergeWindows(const torch::Tensor & windows, const std::array<int64_t, 3> & w, const std::array<int64_t, 3> & grid)
{
  const int64_t c = windows.size(2);
  const int64_t nd = grid[0] / w[0], nh = grid[1] / w[1], nw = grid[2] / w[2];
  const int64_t b = windows.size(0) / (nd * nh * nw);
  return windows.view({ b, nd, nh, nw, w[0], w[1], w[2], c })
    .permute({ 0, 1, 4, 2, 5, 3, 6, 7 })
    .reshape({ b, grid[0], grid[1], grid[2], c });
}

} // namespace

WindowLayout
windowLayout(const std::array<int64_t, 3> & grid, const std::array<int, 3> & maxWindow, bool shifted)
{
  WindowLayout layout;
  for (int a = 0; a < 3; ++a)
  {
    int64_t window = std::min<int64_t>(maxWindow[a], grid[a]);
    if (grid[a] > maxWindow[a])
    {
      // The window in [ceil(max / 2), max] that pads the grid least (the larger on a tie):
      // padded tokens cost compute and, even masked, leave windows part empty.
      for (int64_t w = maxWindow[a]; 2 * w >= maxWindow[a]; --w)
      {
        const int64_t padded = (grid[a] + w - 1) / w * w, best = (grid[a] + window - 1) / window * window;
        if (padded < best)
          window = w;
      }
    }
    layout.window[a] = window;
    layout.shift[a] = (shifted && grid[a] > window) ? window / 2 : 0;
    layout.padded[a] = (grid[a] + window - 1) / window * window;
  }
  return layout;
}

torch::Tensor
windowRegionLabels(const WindowLayout & layout)
{
  // Swin's labelling of the rolled grid: along each shifted axis three slices, [0, P - w),
  // [P - w, P - s) and [P - s, P); unshifted axes are one region.
  torch::Tensor regions = torch::zeros({ 1, layout.padded[0], layout.padded[1], layout.padded[2], 1 });
  auto slices = [](int64_t window, int64_t shift) {
    using torch::indexing::Slice;
    using torch::indexing::None;
    if (shift == 0)
      return std::vector<Slice>{ Slice() };
    return std::vector<Slice>{ Slice(0, -window), Slice(-window, -shift), Slice(-shift, None) };
  };
  int64_t id = 0;
  for (const auto & sd : slices(layout.window[0], layout.shift[0]))
    for (const auto & sh : slices(layout.window[1], layout.shift[1]))
      for (const auto & sw : slices(layout.window[2], layout.shift[2]))
      {
        regions.index_put_({ torch::indexing::Slice(), sd, sh, sw, torch::indexing::Slice() }, static_cast<double>(id));
        ++id;
      }
  return partitionWindows(regions, layout.window).squeeze(-1); // [nW, N]
}

torch::Tensor
windowValidTokens(const std::array<int64_t, 3> & grid, const WindowLayout & layout)
{
  using torch::indexing::Slice;
  torch::Tensor valid = torch::zeros({ 1, layout.padded[0], layout.padded[1], layout.padded[2], 1 });
  valid.index_put_({ Slice(), Slice(0, grid[0]), Slice(0, grid[1]), Slice(0, grid[2]), Slice() }, 1.0);
  valid = torch::roll(valid, { -layout.shift[0], -layout.shift[1], -layout.shift[2] }, { 1, 2, 3 });
  return partitionWindows(valid, layout.window).squeeze(-1); // [nW, N]
}

torch::Tensor
windowAttentionMask(const std::array<int64_t, 3> & grid, const WindowLayout & layout)
{
  const torch::Tensor ids = windowRegionLabels(layout);
  const torch::Tensor differentRegion = ids.unsqueeze(1) != ids.unsqueeze(2);          // [nW, N, N]
  const torch::Tensor paddedKey = (windowValidTokens(grid, layout) == 0).unsqueeze(1); // [nW, 1, N]
  const torch::Tensor blocked = differentRegion | paddedKey;
  if (!blocked.any().item<bool>())
    return {};
  return torch::zeros(blocked.sizes()).masked_fill(blocked, -100.0);
}

SwinBlockImpl::SwinBlockImpl(int64_t dim,
                             std::shared_ptr<WindowAttention> attention,
                             bool shifted,
                             const std::array<int, 3> & maxWindow,
                             double mlpRatio,
                             double dropPath)
  : m_Shifted(shifted)
  , m_MaxWindow(maxWindow)
  , m_DropPath(dropPath)
{
  m_Norm1 = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({ dim })));
  m_Attention = register_module("attention", std::move(attention));
  m_Norm2 = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({ dim })));
  const auto hidden = static_cast<int64_t>(dim * mlpRatio);
  torch::nn::Linear expand(dim, hidden), contract(hidden, dim);
  initializeTransformerLinear(expand);
  initializeTransformerLinear(contract);
  m_Mlp = register_module("mlp", torch::nn::Sequential(expand, torch::nn::GELU(), contract));
}

torch::Tensor
SwinBlockImpl::dropPath(const torch::Tensor & x) const
{
  if (!is_training() || m_DropPath <= 0.0)
  {
    return x;
  }
  // Stochastic depth: drop the whole residual branch per sample.
  const double keep = 1.0 - m_DropPath;
  const torch::Tensor mask = torch::bernoulli(torch::full({ x.size(0), 1, 1, 1, 1 }, keep, x.options()));
  return x * mask / keep;
}

torch::Tensor
SwinBlockImpl::forward(const torch::Tensor & x, MoAAuxiliaryLosses & auxiliary)
{
  const std::array<int64_t, 3> grid{ x.size(1), x.size(2), x.size(3) };
  const WindowLayout layout = windowLayout(grid, m_MaxWindow, m_Shifted);
  const bool rolled = layout.shift[0] + layout.shift[1] + layout.shift[2] > 0;

  torch::Tensor t = padTokens(m_Norm1->forward(x), layout.padded);
  if (rolled)
  {
    t = torch::roll(t, { -layout.shift[0], -layout.shift[1], -layout.shift[2] }, { 1, 2, 3 });
  }
  WindowGeometry geometry;
  geometry.window = layout.window;
  geometry.relativeIndex = relativePositionIndex(layout.window, m_MaxWindow, x.device());
  const torch::Tensor mask = windowAttentionMask(grid, layout);
  if (mask.defined())
  {
    geometry.mask = mask.to(x.device(), x.dtype());
    geometry.validTokens = windowValidTokens(grid, layout).to(x.device(), x.dtype());
  }
  t = mergeWindows(
    m_Attention->attend(partitionWindows(t, layout.window), geometry, auxiliary), layout.window, layout.padded);
  if (rolled)
  {
    t = torch::roll(t, { layout.shift[0], layout.shift[1], layout.shift[2] }, { 1, 2, 3 });
  }
  using torch::indexing::Slice;
  t = t.index({ Slice(), Slice(0, grid[0]), Slice(0, grid[1]), Slice(0, grid[2]), Slice() });
  torch::Tensor y = x + dropPath(t);
  return y + dropPath(m_Mlp->forward(m_Norm2->forward(y)));
}

SwinEncoder::SwinEncoder(const NetworkConfig & config, int64_t inChannels)
  : m_PatchSize(config.patchSize)
{
  const int64_t c = config.embedDim;
  m_FullResolution = register_module("conv_full", ConvActivation(inChannels, 16));
  m_HalfResolution = register_module("conv_half", ConvActivation(inChannels, c / 2));
  m_PatchEmbedding = register_module(
    "patch_embedding",
    torch::nn::Conv3d(torch::nn::Conv3dOptions(inChannels, c, config.patchSize).stride(config.patchSize)));
  m_PatchNorm = register_module("patch_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({ c })));
  m_Stages = register_module("stages", torch::nn::ModuleList());
  m_StageNorms = register_module("stage_norms", torch::nn::ModuleList());
  m_MergeNorms = register_module("merge_norms", torch::nn::ModuleList());
  m_MergeReductions = register_module("merge_reductions", torch::nn::ModuleList());

  int totalBlocks = 0;
  for (int d : config.depths)
    totalBlocks += d;
  int blockIndex = 0;
  for (size_t stage = 0; stage < config.depths.size(); ++stage)
  {
    const int64_t dim = c << stage;
    auto blocks = torch::nn::ModuleList();
    for (int i = 0; i < config.depths[stage]; ++i, ++blockIndex)
    {
      std::shared_ptr<WindowAttention> attention;
      if (config.encoder == EncoderKind::SwinMoA)
        attention = std::make_shared<MixtureOfAttentionHeads>(dim, config.moaExperts, config.moaTopK, config.window);
      else
        attention = std::make_shared<WindowMultiHeadAttention>(dim, config.heads[stage], config.window);
      // Stochastic depth grows linearly over the blocks, as in Swin.
      const double rate = totalBlocks > 1 ? config.dropPath * blockIndex / (totalBlocks - 1) : 0.0;
      blocks->push_back(SwinBlock(dim, attention, i % 2 == 1, config.window, config.mlpRatio, rate));
    }
    m_Stages->push_back(blocks);
    m_StageNorms->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({ dim })));
    if (stage + 1 < config.depths.size())
    {
      m_MergeNorms->push_back(torch::nn::LayerNorm(torch::nn::LayerNormOptions({ 8 * dim })));
      m_MergeReductions->push_back(torch::nn::Linear(torch::nn::LinearOptions(8 * dim, 2 * dim).bias(false)));
    }
  }
}

std::vector<torch::Tensor>
SwinEncoder::encode(const torch::Tensor & volume, MoAAuxiliaryLosses & auxiliary)
{
  namespace F = torch::nn::functional;
  std::vector<torch::Tensor> features;
  features.push_back(m_FullResolution->forward(volume));
  features.push_back(m_HalfResolution->forward(
    F::avg_pool3d(volume, F::AvgPool3dFuncOptions(2).stride(2).ceil_mode(true).count_include_pad(false))));

  // Patch embedding; the volume is zero-padded to a multiple of the patch size.
  std::vector<int64_t> pad;
  for (int axis = 4; axis >= 2; --axis)
  {
    pad.push_back(0);
    pad.push_back((m_PatchSize - volume.size(axis) % m_PatchSize) % m_PatchSize);
  }
  torch::Tensor tokens =
    m_PatchNorm->forward(m_PatchEmbedding->forward(F::pad(volume, F::PadFuncOptions(pad))).permute({ 0, 2, 3, 4, 1 }));

  for (size_t stage = 0; stage < m_Stages->size(); ++stage)
  {
    for (const auto & block : *m_Stages[stage]->as<torch::nn::ModuleListImpl>())
    {
      tokens = block->as<SwinBlockImpl>()->forward(tokens, auxiliary);
    }
    features.push_back(
      m_StageNorms[stage]->as<torch::nn::LayerNormImpl>()->forward(tokens).permute({ 0, 4, 1, 2, 3 }).contiguous());
    if (stage + 1 < m_Stages->size())
    {
      // Patch merging: concatenate each 2x2x2 neighbourhood (grid zero-padded to even sizes).
      const std::array<int64_t, 3> even{ tokens.size(1) + tokens.size(1) % 2,
                                         tokens.size(2) + tokens.size(2) % 2,
                                         tokens.size(3) + tokens.size(3) % 2 };
      const torch::Tensor padded = padTokens(tokens, even);
      using torch::indexing::Slice;
      std::vector<torch::Tensor> parts;
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 2; ++j)
          for (int64_t k = 0; k < 2; ++k)
            parts.push_back(padded.index({ Slice(),
                                           Slice(i, torch::indexing::None, 2),
                                           Slice(j, torch::indexing::None, 2),
                                           Slice(k, torch::indexing::None, 2),
                                           Slice() }));
      tokens = m_MergeReductions[stage]->as<torch::nn::LinearImpl>()->forward(
        m_MergeNorms[stage]->as<torch::nn::LayerNormImpl>()->forward(torch::cat(parts, -1)));
    }
  }
  return features;
}

} // namespace shmoareg
