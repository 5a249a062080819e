#include "ConvolutionBlocks.h"

namespace shmoareg {

ConvActivationImpl::ConvActivationImpl(int64_t inChannels, int64_t outChannels, int64_t kernel, int64_t stride)
{
  m_Convolution = register_module(
    "conv",
    torch::nn::Conv3d(torch::nn::Conv3dOptions(inChannels, outChannels, kernel).stride(stride).padding(kernel / 2)));
}

torch::Tensor
ConvActivationImpl::forward(const torch::Tensor & x)
{
  return torch::leaky_relu(m_Convolution->forward(x), 0.2);
}

void
initializeFieldConvolution(torch::nn::Conv3d & convolution)
{
  torch::NoGradGuard noGrad;
  convolution->weight.normal_(0.0, 1e-5);
  convolution->bias.zero_();
}

RegistrationHeadImpl::RegistrationHeadImpl(int64_t inChannels, int64_t kernel)
{
  m_Convolution =
    register_module("conv", torch::nn::Conv3d(torch::nn::Conv3dOptions(inChannels, 3, kernel).padding(kernel / 2)));
  initializeFieldConvolution(m_Convolution);
}

torch::Tensor
RegistrationHeadImpl::forward(const torch::Tensor & x)
{
  return m_Convolution->forward(x);
}

} // namespace shmoareg
