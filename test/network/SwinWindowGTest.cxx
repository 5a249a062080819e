// The window rule, Swin's shifted-window labelling and the padding mask, each checked against a
// computation by plain loops over token coordinates.
#include "MixtureOfAttentionHeads.h"
#include "SwinEncoder.h"
#include "TestHelpers.h"

#include <gtest/gtest.h>

using namespace shmoareg;

namespace {
// Swin's reference labelling of one axis of the rolled, padded grid of size P: the last w
// positions are split at P - s into the part that stayed and the part that wrapped round.
int64_t
referenceRegion(int64_t p, int64_t padded, int64_t window, int64_t shift)
{
  if (shift == 0)
    return 0;
  if (p < padded - window)
    return 0;
  return p < padded - shift ? 1 : 2;
}

// The window index and in-window index of rolled position (d, h, w), as partitionWindows lays
// them out (windows in raster order, tokens in raster order inside a window).
std::pair<int64_t, int64_t>
windowAndToken(const WindowLayout & l, int64_t d, int64_t h, int64_t w)
{
  const int64_t nh = l.padded[1] / l.window[1], nw = l.padded[2] / l.window[2];
  const int64_t window = ((d / l.window[0]) * nh + h / l.window[1]) * nw + w / l.window[2];
  const int64_t token = ((d % l.window[0]) * l.window[1] + h % l.window[1]) * l.window[2] + w % l.window[2];
  return { window, token };
}

void
expectMaskMatchesReference(const std::array<int64_t, 3> & grid, const std::array<int, 3> & maxWindow)
{
  const WindowLayout l = windowLayout(grid, maxWindow, /*shifted=*/true);
  const torch::Tensor mask = windowAttentionMask(grid, l);
  const torch::Tensor valid = windowValidTokens(grid, l);
  const int64_t windows = valid.size(0), n = valid.size(1);
  ASSERT_EQ(n, l.window[0] * l.window[1] * l.window[2]);
  // Per rolled position: region label and whether it holds a real (unpadded) token.
  std::vector<int64_t> region(windows * n), real(windows * n);
  for (int64_t d = 0; d < l.padded[0]; ++d)
    for (int64_t h = 0; h < l.padded[1]; ++h)
      for (int64_t w = 0; w < l.padded[2]; ++w)
      {
        const auto [window, token] = windowAndToken(l, d, h, w);
        region[window * n + token] = (referenceRegion(d, l.padded[0], l.window[0], l.shift[0]) * 3 +
                                      referenceRegion(h, l.padded[1], l.window[1], l.shift[1])) *
                                       3 +
                                     referenceRegion(w, l.padded[2], l.window[2], l.shift[2]);
        // Rolled position p holds original position (p + shift) mod P.
        const int64_t od = (d + l.shift[0]) % l.padded[0], oh = (h + l.shift[1]) % l.padded[1],
                      ow = (w + l.shift[2]) % l.padded[2];
        real[window * n + token] = od < grid[0] && oh < grid[1] && ow < grid[2];
      }
  int64_t blocked = 0;
  for (int64_t window = 0; window < windows; ++window)
    for (int64_t query = 0; query < n; ++query)
    {
      EXPECT_EQ(valid[window][query].item<double>(), static_cast<double>(real[window * n + query]));
      for (int64_t key = 0; key < n; ++key)
      {
        const bool expectBlocked =
          region[window * n + query] != region[window * n + key] || real[window * n + key] == 0;
        const double value = mask.defined() ? mask[window][query][key].item<double>() : 0.0;
        ASSERT_EQ(value, expectBlocked ? -100.0 : 0.0) << "window " << window << " query " << query << " key " << key;
        blocked += expectBlocked;
      }
    }
  EXPECT_GT(blocked, 0); // every case below masks something
}
} // namespace

TEST(SwinWindows, WindowRulePadsLeast)
{
  // 128^3 input, stage 1 (tokens 32^3), configured (5, 6, 7): windows of 4 divide the grid.
  WindowLayout l = windowLayout({ 32, 32, 32 }, { 5, 6, 7 }, true);
  EXPECT_EQ(l.window, (std::array<int64_t, 3>{ 4, 4, 4 }));
  EXPECT_EQ(l.padded, (std::array<int64_t, 3>{ 32, 32, 32 }));
  EXPECT_EQ(l.shift, (std::array<int64_t, 3>{ 2, 2, 2 }));
  // The shipped grid's stage 1 (12 x 15 x 12).
  l = windowLayout({ 12, 15, 12 }, { 5, 6, 7 }, false);
  EXPECT_EQ(l.window, (std::array<int64_t, 3>{ 4, 5, 6 }));
  EXPECT_EQ(l.padded, (std::array<int64_t, 3>{ 12, 15, 12 }));
  EXPECT_EQ(l.shift, (std::array<int64_t, 3>{ 0, 0, 0 }));
  // An axis that fits in one window is that window and never shifted; a prime axis pads.
  l = windowLayout({ 4, 13, 7 }, { 5, 6, 7 }, true);
  EXPECT_EQ(l.window, (std::array<int64_t, 3>{ 4, 5, 7 }));
  EXPECT_EQ(l.padded, (std::array<int64_t, 3>{ 4, 15, 7 }));
  EXPECT_EQ(l.shift, (std::array<int64_t, 3>{ 0, 2, 0 }));
}

TEST(SwinWindows, ShiftedMaskMatchesSwinsLabellingOnEveryAxis) { expectMaskMatchesReference({ 8, 8, 8 }, { 4, 4, 4 }); }

TEST(SwinWindows, ShiftedMaskWithShiftsOnSomeAxesOnly)
{
  expectMaskMatchesReference({ 8, 3, 6 }, { 4, 4, 3 }); // axis 1 fits in one window: no shift there
  expectMaskMatchesReference({ 2, 2, 9 }, { 3, 3, 3 }); // only axis 2 shifted
}

TEST(SwinWindows, PaddedKeysAreMaskedWithAndWithoutShift)
{
  expectMaskMatchesReference({ 7, 5, 4 }, { 3, 3, 4 }); // padding and shifts
  const WindowLayout l = windowLayout({ 7, 4, 4 }, { 4, 4, 4 }, /*shifted=*/false);
  ASSERT_EQ(l.padded[0], 8);
  EXPECT_TRUE(windowAttentionMask({ 7, 4, 4 }, l).defined()); // padding alone is masked
  EXPECT_FALSE(windowAttentionMask({ 8, 4, 4 }, windowLayout({ 8, 4, 4 }, { 4, 4, 4 }, false)).defined());
}

TEST(SwinWindows, PaddedTokensAreLeftOutOfTheRoutingLosses)
{
  // Two windows of 4 tokens: the second window's last two tokens are padding with a large
  // router response; the losses must be those of the six real tokens alone.
  torch::manual_seed(4);
  MixtureOfAttentionHeads moa(4, /*experts=*/2, /*topK=*/1, { 4, 1, 1 });
  moa.eval();
  {
    torch::NoGradGuard noGrad;
    moa.router->weight.copy_(torch::tensor({ { 1.0, 0.0, 0.0, 0.0 }, { 0.0, 1.0, 0.0, 0.0 } }));
  }
  torch::Tensor x = torch::randn({ 2, 4, 4 });
  x.index_put_({ 1, torch::indexing::Slice(2, 4), 0 }, 30.0);
  WindowGeometry g;
  g.window = { 4, 1, 1 };
  g.relativeIndex = relativePositionIndex(g.window, { 4, 1, 1 }, torch::kCPU);
  g.validTokens = torch::tensor({ { 1.0, 1.0, 1.0, 1.0 }, { 1.0, 1.0, 0.0, 0.0 } });
  g.mask = torch::zeros({ 2, 4, 4 });
  g.mask.index_put_({ 1, torch::indexing::Slice(), torch::indexing::Slice(2, 4) }, -100.0);
  MoAAuxiliaryLosses padded, real;
  torch::NoGradGuard noGrad;
  moa.attend(x, g, padded);
  // The same six tokens as one unpadded batch of windows of 2 (the losses are per token).
  const torch::Tensor six =
    torch::cat({ x[0].view({ 2, 2, 4 }), x[1].index({ torch::indexing::Slice(0, 2) }).unsqueeze(0) }, 0);
  WindowGeometry g2;
  g2.window = { 2, 1, 1 };
  g2.relativeIndex = relativePositionIndex(g2.window, { 4, 1, 1 }, torch::kCPU);
  moa.attend(six, g2, real);
  EXPECT_NEAR(padded.loadBalance.item<double>(), real.loadBalance.item<double>(), 1e-6);
  EXPECT_NEAR(padded.routerZ.item<double>(), real.routerZ.item<double>(), 1e-5);
}
