#include "DistributedGroup.h"

#include "ErrorMessage.h"

// Debian's LibTorch 1.13 and PyTorch's 2.x wheels both build Gloo in; its headers come from
// Debian's libgloo-dev (the wheel ships none). Every Gloo type in ProcessGroupGloo is held by
// pointer, so the class's layout does not depend on which Gloo the headers describe. (The
// wheel's Torch target defines USE_C10D_GLOO itself; Debian's does not.)
#ifndef USE_C10D_GLOO
#  define USE_C10D_GLOO
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <cstdlib>
#include <sstream>

namespace shmoareg::training {

namespace {
// An environment variable as an integer; `fallback` when unset.
int
environmentInteger(const char * name, int fallback)
{
  const char * text = std::getenv(name);
  if (text == nullptr || *text == '\0')
    return fallback;
  char * end = nullptr;
  const long value = std::strtol(text, &end, 10);
  if (*end != '\0' || value < -1 || value > 1000000)
    throw std::invalid_argument(std::string("the environment variable ") + name + " is '" + text +
                                "', not a whole number");
  return static_cast<int>(value);
}

const char *
firstSet(const char * a, const char * b)
{
  return std::getenv(a) != nullptr ? a : b;
}

// The first line of an error: Gloo's and c10d's messages carry a trace after it.
std::string
firstLine(const std::exception & error)
{
  std::string text = messageWithoutTrace(error);
  const size_t end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

bool
isLoopback(const std::string & address)
{
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}
} // namespace

DistributedSettings
distributedSettingsFromEnvironment()
{
  DistributedSettings settings;
  settings.worldSize = environmentInteger(firstSet("WORLD_SIZE", "SLURM_NTASKS"), 1);
  settings.rank = environmentInteger(firstSet("RANK", "SLURM_PROCID"), 0);
  if (const char * address = std::getenv("MASTER_ADDR"); address != nullptr && *address != '\0')
    settings.masterAddress = address;
  settings.masterPort = environmentInteger("MASTER_PORT", settings.masterPort);
  if (const char * agentStore = std::getenv("TORCHELASTIC_USE_AGENT_STORE"); agentStore != nullptr)
    settings.storeServedByLauncher = std::string(agentStore) == "True";
  if (const char * timeout = std::getenv("SHMOAREG_DISTRIBUTED_TIMEOUT"); timeout != nullptr && *timeout != '\0')
  {
    char * end = nullptr;
    settings.timeoutSeconds = std::strtod(timeout, &end);
    if (*end != '\0')
      throw std::invalid_argument(std::string("the environment variable SHMOAREG_DISTRIBUTED_TIMEOUT is '") + timeout +
                                  "', not a number of seconds");
  }
  return settings;
}

void
checkDistributedSettings(const DistributedSettings & s)
{
  if (s.worldSize < 1)
    throw std::invalid_argument("the world size must be at least 1, got " + std::to_string(s.worldSize));
  if (s.rank < 0 || s.rank >= s.worldSize)
    throw std::invalid_argument("the rank must be in [0, " + std::to_string(s.worldSize) + ") for a world of " +
                                std::to_string(s.worldSize) + ", got " + std::to_string(s.rank));
  if (s.masterPort < 1 || s.masterPort > 65535)
    throw std::invalid_argument("the master port must be in 1-65535, got " + std::to_string(s.masterPort));
  if (!(s.timeoutSeconds > 0.0))
    throw std::invalid_argument("the distributed timeout must be a positive number of seconds");
}

struct DistributedGroup::Impl
{
  DistributedSettings settings;
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;

  std::string
  who() const
  {
    return "rank " + std::to_string(settings.rank) + " of " + std::to_string(settings.worldSize);
  }

  // Runs a collective on `tensor` in place and waits for it. Gloo works on CPU tensors here: a
  // CUDA tensor (or a non-contiguous one) makes the round trip through a contiguous CPU copy.
  template <typename Collective>
  void
  run(torch::Tensor & tensor, const std::string & what, Collective && collective)
  {
    std::vector<at::Tensor> tensors{ tensor.cpu().contiguous() };
    try
    {
      collective(tensors)->wait();
    }
    catch (const std::exception & error)
    {
      throw DistributedError(who() + ": " + what + " failed: another rank stopped, hung or cannot be reached (" +
                             firstLine(error) + ")");
    }
    if (!tensors.front().is_same(tensor))
      tensor.copy_(tensors.front());
  }
};

DistributedGroup::DistributedGroup(const DistributedSettings & settings)
  : m_Impl(std::make_unique<Impl>())
{
  checkDistributedSettings(settings);
  m_Impl->settings = settings;
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(settings.timeoutSeconds * 1000.0));
  const std::string endpoint = settings.masterAddress + ":" + std::to_string(settings.masterPort);
  try
  {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(settings.masterPort);
    options.isServer = settings.rank == 0 && !settings.storeServedByLauncher;
    options.numWorkers = static_cast<std::size_t>(settings.worldSize);
    options.waitWorkers = true;
    options.timeout = timeout;
    m_Impl->store = c10::make_intrusive<c10d::TCPStore>(settings.masterAddress, options);
  }
  catch (const std::exception & error)
  {
    throw DistributedError(m_Impl->who() + ": cannot " +
                           (settings.rank == 0 ? "serve the store on " + endpoint + " or not every rank joined it"
                                               : "reach the store of rank 0 at " + endpoint) +
                           " within " + std::to_string(static_cast<int64_t>(settings.timeoutSeconds)) + " s (" +
                           firstLine(error) + ")");
  }
  try
  {
    auto options = c10d::ProcessGroupGloo::Options::create();
    options->timeout = timeout;
    // GLOO_SOCKET_IFNAME picks the network interface, as in PyTorch; on one machine, loopback.
    if (const char * interface = std::getenv("GLOO_SOCKET_IFNAME"); interface != nullptr && *interface != '\0')
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
    else if (isLoopback(settings.masterAddress))
      options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    else
      options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    options->threads = 1; // one collective at a time: the trainer waits for each
    m_Impl->group =
      c10::make_intrusive<c10d::ProcessGroupGloo>(m_Impl->store, settings.rank, settings.worldSize, options);
  }
  catch (const std::exception & error)
  {
    throw DistributedError(m_Impl->who() + ": the process group did not form through the store at " + endpoint + " (" +
                           firstLine(error) + ")");
  }
}

DistributedGroup::~DistributedGroup() = default;

int
DistributedGroup::rank() const
{
  return m_Impl->settings.rank;
}

int
DistributedGroup::size() const
{
  return m_Impl->settings.worldSize;
}

void
DistributedGroup::sum(torch::Tensor & tensor, const std::string & what)
{
  m_Impl->run(tensor, what, [&](std::vector<at::Tensor> & tensors) { return m_Impl->group->allreduce(tensors); });
}

void
DistributedGroup::broadcastFromRankZero(torch::Tensor & tensor, const std::string & what)
{
  m_Impl->run(tensor, what, [&](std::vector<at::Tensor> & tensors) { return m_Impl->group->broadcast(tensors); });
}

} // namespace shmoareg::training
