// Where and how wide the network runs.
#ifndef shmoareg_Device_h
#define shmoareg_Device_h

#include <torch/torch.h>

#include <string>

namespace shmoareg {

// "auto" (CUDA when available, else CPU), "cpu", "cuda" or "cuda:N". Throws
// std::invalid_argument for an unknown name or a CUDA device this machine lacks.
torch::Device
resolveDevice(const std::string & name);

// Sets LibTorch's intra-op threads; 0 keeps LibTorch's default.
void
setThreadCount(int threads);

} // namespace shmoareg

#endif
