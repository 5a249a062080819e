#include "ImageTensorBridge.h"

#include <algorithm>

namespace shmoareg {

namespace {
template <typename TImage>
typename TImage::Pointer
allocateLike(const itk::ImageBase<3> * grid)
{
  auto image = TImage::New();
  image->CopyInformation(grid);
  image->SetRegions(grid->GetLargestPossibleRegion());
  image->Allocate();
  return image;
}

void
checkTensorGrid(const torch::Tensor & t, const itk::ImageBase<3> * grid, const char * what)
{
  const auto size = grid->GetLargestPossibleRegion().GetSize();
  if (t.dim() != 5 || t.size(0) != 1 || t.size(1) != 3 || t.size(2) != static_cast<int64_t>(size[2]) ||
      t.size(3) != static_cast<int64_t>(size[1]) || t.size(4) != static_cast<int64_t>(size[0]))
  {
    itkGenericExceptionMacro(<< what << " of shape " << t.sizes() << " does not match the grid of size " << size);
  }
}
} // namespace

torch::Tensor
imageToTensor(const NetworkImageType * image, const torch::Device & device)
{
  const auto region = image->GetBufferedRegion();
  if (region != image->GetLargestPossibleRegion())
  {
    itkGenericExceptionMacro(<< "imageToTensor needs the whole image buffered");
  }
  const auto size = region.GetSize();
  const torch::Tensor view = torch::from_blob(
    const_cast<float *>(image->GetBufferPointer()),
    { 1, 1, static_cast<int64_t>(size[2]), static_cast<int64_t>(size[1]), static_cast<int64_t>(size[0]) },
    torch::kFloat);
  return view.to(device, /*non_blocking=*/false, /*copy=*/true);
}

VoxelDisplacementFieldType::Pointer
tensorToVoxelDisplacement(const torch::Tensor & field, const itk::ImageBase<3> * grid)
{
  checkTensorGrid(field, grid, "network displacement");
  // Reorder channels (D, H, W) -> components (i, j, k) and interleave them per voxel.
  const torch::Tensor interleaved =
    field[0].flip(0).permute({ 1, 2, 3, 0 }).to(torch::kCPU, torch::kFloat).contiguous();
  auto image = allocateLike<VoxelDisplacementFieldType>(grid);
  std::copy_n(interleaved.data_ptr<float>(), interleaved.numel(), reinterpret_cast<float *>(image->GetBufferPointer()));
  return image;
}

torch::Tensor
voxelDisplacementToTensor(const VoxelDisplacementFieldType * field, const torch::Device & device)
{
  const auto size = field->GetBufferedRegion().GetSize();
  const torch::Tensor interleaved =
    torch::from_blob(const_cast<float *>(reinterpret_cast<const float *>(field->GetBufferPointer())),
                     { static_cast<int64_t>(size[2]), static_cast<int64_t>(size[1]), static_cast<int64_t>(size[0]), 3 },
                     torch::kFloat);
  return interleaved.permute({ 3, 0, 1, 2 })
    .flip(0)
    .unsqueeze(0)
    .to(device, /*non_blocking=*/false, /*copy=*/true)
    .contiguous();
}

std::array<double, 3>
tensorAxisSpacing(const itk::ImageBase<3> * grid)
{
  const auto & spacing = grid->GetSpacing();
  return { spacing[2], spacing[1], spacing[0] };
}

std::vector<ExpertMapType::Pointer>
tensorToExpertMaps(const torch::Tensor & expertIds, const itk::ImageBase<3> * grid)
{
  checkTensorGrid(expertIds, grid, "expert ids");
  const torch::Tensor ids = expertIds[0].to(torch::kCPU, torch::kUInt8).contiguous();
  std::vector<ExpertMapType::Pointer> maps;
  for (int component = 0; component < 3; ++component)
  {
    const torch::Tensor channel = ids[2 - component].contiguous();
    auto map = allocateLike<ExpertMapType>(grid);
    std::copy_n(channel.data_ptr<uint8_t>(), channel.numel(), map->GetBufferPointer());
    maps.push_back(map);
  }
  return maps;
}

GateProbabilityImageType::Pointer
tensorToGateProbabilities(const torch::Tensor & gateLogits, const itk::ImageBase<3> * grid)
{
  if (gateLogits.dim() != 6)
  {
    itkGenericExceptionMacro(<< "gate logits must be [1, 3, E, D, H, W], got " << gateLogits.sizes());
  }
  checkTensorGrid(gateLogits.select(2, 0), grid, "gate logits");
  const int64_t experts = gateLogits.size(2);
  // [3, E, D, H, W] -> directions in ITK order -> [D, H, W, 3 * E] interleaved per voxel.
  const torch::Tensor interleaved =
    torch::softmax(gateLogits[0].to(torch::kCPU, torch::kFloat), 1)
      .flip(0)
      .reshape({ 3 * experts, gateLogits.size(3), gateLogits.size(4), gateLogits.size(5) })
      .permute({ 1, 2, 3, 0 })
      .contiguous();
  auto image = GateProbabilityImageType::New();
  image->CopyInformation(grid);
  image->SetRegions(grid->GetLargestPossibleRegion());
  image->SetNumberOfComponentsPerPixel(static_cast<unsigned int>(3 * experts));
  image->Allocate();
  std::copy_n(interleaved.data_ptr<float>(), interleaved.numel(), image->GetBufferPointer());
  return image;
}

} // namespace shmoareg
