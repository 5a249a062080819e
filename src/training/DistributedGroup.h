// Data-parallel training across processes on LibTorch's c10d: a TCP store for the rendezvous
// and a Gloo process group for the collectives (CPU tensors; a CUDA bucket goes through the
// CPU). Only this file's .cxx includes c10d, so the rest of the trainer does not depend on
// which LibTorch (1.13 or 2.x) provides it.
#ifndef shmoareg_DistributedGroup_h
#define shmoareg_DistributedGroup_h

#include <torch/types.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace shmoareg::training {

// A collective that failed (a rank died, hung or cannot be reached): its message names this
// rank, what was being exchanged and the cause, in one line.
class DistributedError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

struct DistributedSettings
{
  int worldSize = 1;
  int rank = 0;
  std::string masterAddress = "127.0.0.1";
  int masterPort = 29500;
  // How long a rank waits for the store, for the others to join and for a collective, before
  // it stops with DistributedError. It must exceed rank 0's validation time, which the others
  // spend waiting in the next collective.
  double timeoutSeconds = 300.0;
  // torchrun's agent already serves the store at MASTER_ADDR:MASTER_PORT
  // (TORCHELASTIC_USE_AGENT_STORE=True): rank 0 then connects to it rather than serving one.
  bool storeServedByLauncher = false;

  bool
  enabled() const
  {
    return worldSize > 1;
  }
};

// torchrun's environment: WORLD_SIZE, RANK, MASTER_ADDR, MASTER_PORT (Slurm's SLURM_NTASKS and
// SLURM_PROCID when WORLD_SIZE and RANK are absent), TORCHELASTIC_USE_AGENT_STORE,
// SHMOAREG_DISTRIBUTED_TIMEOUT (seconds).
// Unset: one process. Malformed values throw std::invalid_argument naming the variable.
DistributedSettings
distributedSettingsFromEnvironment();

// Throws std::invalid_argument when the settings cannot describe a group (rank outside
// [0, world size), port outside 1-65535, timeout not positive).
void
checkDistributedSettings(const DistributedSettings & settings);

class DistributedGroup
{
public:
  // Joins the group: rank 0 serves the store on MASTER_ADDR:MASTER_PORT and every rank
  // connects; returns when all have joined (DistributedError after the timeout otherwise).
  explicit DistributedGroup(const DistributedSettings & settings);
  ~DistributedGroup();
  DistributedGroup(const DistributedGroup &) = delete;
  DistributedGroup &
  operator=(const DistributedGroup &) = delete;

  int
  rank() const;
  int
  size() const;

  // In place: every rank ends with the sum over ranks (same shape and type on every rank).
  // `what` says what is exchanged, for the error message.
  void
  sum(torch::Tensor & tensor, const std::string & what);
  // In place: every rank ends with rank 0's values.
  void
  broadcastFromRankZero(torch::Tensor & tensor, const std::string & what);

private:
  struct Impl;
  std::unique_ptr<Impl> m_Impl;
};

} // namespace shmoareg::training

#endif
