// The only place where ITK images and torch tensors meet. Each arrow of the data flow is one
// function:
//   ITK image on the network grid -> tensor           imageToTensor
//   network field (voxels, tensor axes) -> ITK field   tensorToVoxelDisplacement
//   network expert ids -> ITK label images             tensorToExpertMaps
//   network gate logits -> ITK probability image       tensorToGateProbabilities
//
// Layout: an ITK buffer is x (index i) fastest; a tensor [B, C, D, H, W] is W fastest. So the
// tensor's axes (D, H, W) are ITK's (k, j, i), and field channel c (tensor axis c) is ITK
// component 2 - c.
#ifndef shmoareg_ImageTensorBridge_h
#define shmoareg_ImageTensorBridge_h

#include "itkSHMoARegImageTypes.h"
#include "itkVectorImage.h"

#include <torch/torch.h>

namespace shmoareg {

// The same types as itk::SHMoARegModel's (whose header is not needed here).
using NetworkImageType = itk::SHMoARegImageTypes::ImageType;
using VoxelDisplacementFieldType = itk::SHMoARegImageTypes::DisplacementFieldType;
using ExpertMapType = itk::SHMoARegImageTypes::ExpertMapType;
using GateProbabilityImageType = itk::VectorImage<float, 3>;

// [1, 1, k, j, i] float tensor (a copy) on `device`.
torch::Tensor
imageToTensor(const NetworkImageType * image, const torch::Device & device);

// [1, 3, k, j, i] voxel field (channel c along tensor axis c) -> ITK field whose components
// are (i, j, k) voxel displacements, on `grid`'s geometry.
VoxelDisplacementFieldType::Pointer
tensorToVoxelDisplacement(const torch::Tensor & field, const itk::ImageBase<3> * grid);

// The inverse of tensorToVoxelDisplacement: components (i, j, k) -> channels (D, H, W) = (k, j, i).
torch::Tensor
voxelDisplacementToTensor(const VoxelDisplacementFieldType * field, const torch::Device & device);

// The grid's voxel size along the tensor axes (D, H, W) = (k, j, i), mm.
std::array<double, 3>
tensorAxisSpacing(const itk::ImageBase<3> * grid);

// [1, 3, k, j, i] int64 expert ids (channel c along tensor axis c) -> three label images for
// the i, j and k directions, on `grid`'s geometry.
std::vector<ExpertMapType::Pointer>
tensorToExpertMaps(const torch::Tensor & expertIds, const itk::ImageBase<3> * grid);

// [1, 3, E, k, j, i] gate logits -> softmax over the experts, as a vector image with 3 * E
// components per voxel: direction i's E probabilities, then j's, then k's.
GateProbabilityImageType::Pointer
tensorToGateProbabilities(const torch::Tensor & gateLogits, const itk::ImageBase<3> * grid);

} // namespace shmoareg

#endif
