// libFuzzer target: a training configuration file (`shmoareg train --config FILE`).
#include "FuzzInput.h"
#include "Trainer.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const std::string path = shmoareg::fuzz::writeInput(data, size, ".json");
  try
  {
    (void)shmoareg::training::readTrainingOptions(path);
  }
  catch (const std::exception &)
  {}
  return 0;
}
