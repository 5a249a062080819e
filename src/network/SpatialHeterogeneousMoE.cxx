#include "SpatialHeterogeneousMoE.h"

#include "ConvolutionBlocks.h"

namespace shmoareg {

SpatialHeterogeneousMoEImpl::SpatialHeterogeneousMoEImpl(int64_t inChannels, const std::vector<int> & kernels)
{
  m_Experts = register_module("experts", torch::nn::ModuleList());
  for (int k : kernels)
  {
    torch::nn::Conv3d expert(torch::nn::Conv3dOptions(inChannels, 3, k).padding(k / 2));
    initializeFieldConvolution(expert);
    m_Experts->push_back(expert);
  }
  gate = register_module(
    "gate",
    torch::nn::Conv3d(torch::nn::Conv3dOptions(inChannels, 3 * static_cast<int64_t>(kernels.size()), 3).padding(1)));
  // No bias at the start: LibTorch's default bias is a constant per-direction preference that
  // can outweigh the feature term on smooth features (docs/design.md: it is not the whole cause
  // of the routing collapse measured at initialisation).
  {
    torch::NoGradGuard noGrad;
    gate->bias.zero_();
  }
}

torch::Tensor
SpatialHeterogeneousMoEImpl::expertOutputs(const torch::Tensor & x)
{
  std::vector<torch::Tensor> outputs;
  for (const auto & expert : *m_Experts)
  {
    outputs.push_back(expert->as<torch::nn::Conv3dImpl>()->forward(x));
  }
  return torch::stack(outputs, 2);
}

torch::Tensor
SpatialHeterogeneousMoEImpl::forward(const torch::Tensor & x, ExpertRouting & routing)
{
  const auto s = x.sizes();
  const torch::Tensor all = expertOutputs(x);
  // The gate reads detached features: the routing-classification loss trains the gate alone
  // and never pulls the shared features towards routability (docs/design.md).
  routing.gateLogits = gate->forward(x.detach()).view({ s[0], 3, experts(), s[2], s[3], s[4] });
  // argmax over a contiguous last axis: over the strided expert axis it costs ~10x more.
  routing.expertIds = routing.gateLogits.detach().movedim(2, -1).contiguous().argmax(-1);
  routing.output = all.gather(2, routing.expertIds.unsqueeze(2)).squeeze(2);
  if (routing.output.requires_grad())
  {
    routing.output.retain_grad();
  }
  return routing.output;
}

} // namespace shmoareg
