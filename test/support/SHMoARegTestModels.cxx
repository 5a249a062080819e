#include "SHMoARegTestModels.h"

#include "Checkpoint.h"

namespace shmoareg_test {

namespace {
shmoareg::NetworkConfig
smallVM()
{
  shmoareg::NetworkConfig config = shmoareg::makePreset("VM");
  config.convEncoderChannels = { 4, 8, 8, 8 };
  config.decoderChannels = { 4, 8, 8, 8 };
  return config;
}

bool
isHead(const std::string & name, const char * what)
{
  const std::string suffix = std::string("head.conv.") + what;
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}
} // namespace

void
writeConstantDisplacementModel(const std::string & path,
                               const std::array<double, 3> & voxelDisplacement,
                               const std::string & provenance,
                               bool diffeomorphic)
{
  // Diffeomorphic: the head's constant output is a velocity, whose exponential is itself.
  shmoareg::NetworkConfig config = smallVM();
  config.diffeomorphic = diffeomorphic;
  shmoareg::RegistrationNetwork network(config);
  torch::NoGradGuard noGrad;
  for (auto & p : network->named_parameters())
  {
    if (isHead(p.key(), "weight"))
      p.value().zero_();
    if (isHead(p.key(), "bias"))
    {
      // Channel c of the network's field is tensor axis c = ITK index axis 2 - c.
      for (int c = 0; c < 3; ++c)
        p.value()[c] = voxelDisplacement[2 - c];
    }
  }
  shmoareg::saveCheckpoint(path, network, provenance);
}

void
writeRandomFieldModel(const std::string & path, unsigned int seed)
{
  torch::manual_seed(seed);
  shmoareg::RegistrationNetwork network(smallVM());
  torch::NoGradGuard noGrad;
  for (auto & p : network->named_parameters())
  {
    if (isHead(p.key(), "weight"))
      p.value().normal_(0.0, 0.05);
  }
  shmoareg::saveCheckpoint(path, network, "{\"test\": \"random field\"}");
}

void
writeTwoChannelModel(const std::string & path)
{
  shmoareg::NetworkConfig config = smallVM();
  config.inChannels = 2;
  shmoareg::saveCheckpoint(path, shmoareg::RegistrationNetwork(config), "{\"test\": \"two channels\"}");
}

} // namespace shmoareg_test
