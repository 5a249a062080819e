// Small convolutional building blocks shared by the encoders and decoders.
#ifndef shmoareg_ConvolutionBlocks_h
#define shmoareg_ConvolutionBlocks_h

#include <torch/torch.h>

namespace shmoareg {

// 3D convolution followed by LeakyReLU(0.2), as in VoxelMorph's and TransMorph's blocks.
class ConvActivationImpl : public torch::nn::Module
{
public:
  ConvActivationImpl(int64_t inChannels, int64_t outChannels, int64_t kernel = 3, int64_t stride = 1);
  torch::Tensor
  forward(const torch::Tensor & x);

private:
  torch::nn::Conv3d m_Convolution{ nullptr };
};
TORCH_MODULE(ConvActivation);

// The last layer that predicts a 3-component field: a 3D convolution whose weights start at
// N(0, 1e-5) and bias at 0, so an untrained network predicts (nearly) the identity.
class RegistrationHeadImpl : public torch::nn::Module
{
public:
  RegistrationHeadImpl(int64_t inChannels, int64_t kernel = 3);
  torch::Tensor
  forward(const torch::Tensor & x);

private:
  torch::nn::Conv3d m_Convolution{ nullptr };
};
TORCH_MODULE(RegistrationHead);

// Initialises a field-predicting convolution as RegistrationHead does.
void
initializeFieldConvolution(torch::nn::Conv3d & convolution);

} // namespace shmoareg

#endif
