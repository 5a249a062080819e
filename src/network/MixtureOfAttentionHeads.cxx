#include "MixtureOfAttentionHeads.h"

namespace shmoareg {

MixtureOfAttentionHeads::MixtureOfAttentionHeads(int64_t dim,
                                                 int64_t experts,
                                                 int64_t topK,
                                                 const std::array<int, 3> & maxWindow)
  : m_Experts(experts)
  , m_TopK(topK)
  , m_HeadDim(dim / topK)
{
  using torch::nn::Linear;
  using torch::nn::LinearOptions;
  router = register_module("router", Linear(LinearOptions(dim, experts).bias(false)));
  routerNoise = register_module("router_noise", Linear(LinearOptions(dim, experts).bias(false)));
  {
    torch::NoGradGuard noGrad;
    router->weight.zero_();
    routerNoise->weight.zero_();
  }
  queries = register_module("queries", Linear(LinearOptions(dim, experts * m_HeadDim).bias(false)));
  key = register_module("key", Linear(LinearOptions(dim, m_HeadDim).bias(false)));
  value = register_module("value", Linear(LinearOptions(dim, m_HeadDim).bias(false)));
  outputs = register_module("outputs", Linear(LinearOptions(experts * m_HeadDim, dim).bias(false)));
  for (auto * layer : { &queries, &key, &value, &outputs })
    initializeTransformerLinear(*layer);
  relativeBiasTable = register_parameter("relative_position_bias_table",
                                         torch::randn({ relativeBiasTableSize(maxWindow), experts }) * 0.02);
}

torch::Tensor
MixtureOfAttentionHeads::routingWeights(const torch::Tensor & tokens, torch::Tensor * logitsOut)
{
  const torch::Tensor logits = router->forward(tokens);
  if (logitsOut)
  {
    *logitsOut = logits; // the clean logits: the z-loss and the balance loss act on the router itself
  }
  torch::Tensor routed = logits;
  if (is_training())
  {
    // Noisy top-k gating: breaks the ties of the zero-initialised router so that every
    // expert is tried from the first iteration.
    routed = logits + torch::randn_like(logits) * torch::softplus(routerNoise->forward(tokens));
  }
  const torch::Tensor probabilities = torch::softmax(routed, -1);
  const auto top = probabilities.topk(m_TopK, -1);
  const torch::Tensor topValues = std::get<0>(top);
  return torch::zeros_like(probabilities)
    .scatter(-1, std::get<1>(top), topValues / topValues.sum(-1, /*keepdim=*/true));
}

torch::Tensor
MixtureOfAttentionHeads::attend(const torch::Tensor & windows,
                                const WindowGeometry & geometry,
                                MoAAuxiliaryLosses & auxiliary)
{
  const int64_t b = windows.size(0), n = windows.size(1);
  torch::Tensor logits;
  const torch::Tensor gates = routingWeights(windows, &logits); // [b, n, E]

  // All experts are computed densely and weighted by their (mostly zero) gates: on CPU and
  // GPU one batched matmul beats gathering k heads per token.
  const torch::Tensor q = (queries->forward(windows) * (1.0 / std::sqrt(static_cast<double>(m_HeadDim))))
                            .view({ b, n, m_Experts, m_HeadDim })
                            .permute({ 0, 2, 1, 3 });           // [b, E, n, d]
  const torch::Tensor k = key->forward(windows).unsqueeze(1);   // [b, 1, n, d]
  const torch::Tensor v = value->forward(windows).unsqueeze(1); // [b, 1, n, d]
  const torch::Tensor bias =
    relativeBiasTable.index_select(0, geometry.relativeIndex.flatten()).view({ n, n, m_Experts }).permute({ 2, 0, 1 });
  const torch::Tensor attention =
    torch::softmax(addWindowMask(q.matmul(k.transpose(-2, -1)) + bias.unsqueeze(0), geometry.mask), -1);
  const torch::Tensor heads = attention.matmul(v) * gates.permute({ 0, 2, 1 }).unsqueeze(-1); // [b, E, n, d]
  const torch::Tensor y = outputs->forward(heads.permute({ 0, 2, 1, 3 }).reshape({ b, n, m_Experts * m_HeadDim }));

  // Auxiliary losses over this layer's tokens, padding left out (it carries no image).
  const torch::Tensor flatLogits = logits.reshape({ -1, m_Experts });
  torch::Tensor weight = torch::ones({ flatLogits.size(0), 1 }, logits.options());
  if (geometry.validTokens.defined())
    weight = geometry.validTokens.repeat({ b / geometry.validTokens.size(0), 1 }).reshape({ -1, 1 });
  const torch::Tensor count = weight.sum();
  const torch::Tensor probabilityShare = (torch::softmax(flatLogits, -1) * weight).sum(0) / count;
  const torch::Tensor tokenShare =
    ((gates.reshape({ -1, m_Experts }) > 0).to(logits.dtype()) * weight).sum(0) / count / m_TopK;
  auxiliary.add(static_cast<double>(m_Experts) * (probabilityShare * tokenShare).sum(),
                (torch::logsumexp(flatLogits, -1).pow(2) * weight.squeeze(1)).sum() / count);
  return y;
}

} // namespace shmoareg
