#include "FieldDecoder.h"

#include "FieldIntegration.h"

namespace shmoareg {

FieldHeadImpl::FieldHeadImpl(int64_t inChannels,
                             bool spatialHeterogeneousMoE,
                             const std::vector<int> & expertKernels,
                             bool diffeomorphic,
                             int integrationSteps)
  : m_Diffeomorphic(diffeomorphic)
  , m_IntegrationSteps(integrationSteps)
{
  if (spatialHeterogeneousMoE)
    m_MoE = register_module("shmoe", SpatialHeterogeneousMoE(inChannels, expertKernels));
  else
    m_Head = register_module("head", RegistrationHead(inChannels));
}

torch::Tensor
FieldHeadImpl::forward(const torch::Tensor & x, std::vector<ExpertRouting> & routing, torch::Tensor * inverse)
{
  torch::Tensor field;
  if (m_MoE)
  {
    routing.emplace_back();
    field = m_MoE->forward(x, routing.back());
  }
  else
  {
    field = m_Head->forward(x);
  }
  if (!m_Diffeomorphic)
    return field;
  if (inverse)
    *inverse = integrateVelocity(-field, m_IntegrationSteps);
  return integrateVelocity(field, m_IntegrationSteps);
}

} // namespace shmoareg
