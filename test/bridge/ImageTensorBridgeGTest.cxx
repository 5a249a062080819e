#include "ImageTensorBridge.h"

#include <gtest/gtest.h>

using namespace shmoareg;

namespace {
NetworkImageType::Pointer
indexCodedImage()
{
  // value(i, j, k) = i + 10 j + 100 k on a 4 x 5 x 6 grid.
  auto image = NetworkImageType::New();
  NetworkImageType::SizeType size{ { 4, 5, 6 } };
  image->SetRegions(size);
  image->Allocate();
  for (unsigned k = 0; k < 6; ++k)
    for (unsigned j = 0; j < 5; ++j)
      for (unsigned i = 0; i < 4; ++i)
        image->SetPixel({ { i, j, k } }, static_cast<float>(i + 10 * j + 100 * k));
  return image;
}
} // namespace

TEST(ImageTensorBridge, ImageAxesBecomeTensorAxesReversed)
{
  const auto image = indexCodedImage();
  const torch::Tensor t = imageToTensor(image, torch::kCPU);
  ASSERT_EQ(t.sizes(), torch::IntArrayRef({ 1, 1, 6, 5, 4 }));
  EXPECT_EQ(t[0][0][5][1][3].item<float>(), 3 + 10 * 1 + 100 * 5);
  EXPECT_EQ(t[0][0][2][4][0].item<float>(), 0 + 10 * 4 + 100 * 2);
  // A copy: changing the tensor leaves the image alone.
  t.fill_(0);
  EXPECT_EQ(image->GetPixel({ { 3, 1, 5 } }), 3 + 10 * 1 + 100 * 5);
}

TEST(ImageTensorBridge, FieldChannelsBecomeComponentsReversed)
{
  const auto grid = indexCodedImage();
  // Channel 0 (tensor axis D = ITK k) = 1, channel 1 (H = j) = 2, channel 2 (W = i) = 3 + i.
  torch::Tensor field = torch::zeros({ 1, 3, 6, 5, 4 });
  field.select(1, 0).fill_(1.0);
  field.select(1, 1).fill_(2.0);
  field.select(1, 2).copy_(3.0 + torch::arange(4, torch::kFloat).view({ 1, 1, 4 }).expand({ 6, 5, 4 }));
  const auto image = tensorToVoxelDisplacement(field, grid);
  EXPECT_EQ(image->GetLargestPossibleRegion(), grid->GetLargestPossibleRegion());
  const auto v = image->GetPixel({ { 2, 3, 4 } });
  EXPECT_EQ(v[0], 3.0f + 2.0f); // i component
  EXPECT_EQ(v[1], 2.0f);        // j component
  EXPECT_EQ(v[2], 1.0f);        // k component
}

TEST(ImageTensorBridge, ExpertIdsBecomeOneMapPerDirection)
{
  const auto grid = indexCodedImage();
  torch::Tensor ids = torch::zeros({ 1, 3, 6, 5, 4 }, torch::kInt64);
  ids.select(1, 0).fill_(2); // k direction
  ids.select(1, 2).fill_(1); // i direction
  const auto maps = tensorToExpertMaps(ids, grid);
  ASSERT_EQ(maps.size(), 3u);
  EXPECT_EQ(maps[0]->GetPixel({ { 1, 1, 1 } }), 1); // i
  EXPECT_EQ(maps[1]->GetPixel({ { 1, 1, 1 } }), 0); // j
  EXPECT_EQ(maps[2]->GetPixel({ { 1, 1, 1 } }), 2); // k
}

TEST(ImageTensorBridge, GridMismatchThrows)
{
  const auto grid = indexCodedImage();
  EXPECT_THROW(tensorToVoxelDisplacement(torch::zeros({ 1, 3, 6, 5, 5 }), grid), itk::ExceptionObject);
  EXPECT_THROW(tensorToExpertMaps(torch::zeros({ 1, 3, 5, 5, 4 }, torch::kInt64), grid), itk::ExceptionObject);
}
