// libFuzzer target: a model file (the checkpoint loader behind every --model and SetModelFileName).
// Any input must end in the model (with a configuration that validates) or in an exception.
#include "Checkpoint.h"
#include "FuzzInput.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const std::string path = shmoareg::fuzz::writeInput(data, size, ".pt");
  try
  {
    const shmoareg::LoadedModel model = shmoareg::loadCheckpoint(path);
    model.network->config().validate();
  }
  catch (const std::exception &)
  {}
  return 0;
}
