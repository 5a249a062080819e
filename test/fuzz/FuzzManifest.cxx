// libFuzzer target: a dataset manifest (`train --data` and `evaluate --data`), JSON or CSV: the
// first byte picks which, so one corpus covers both readers.
#include "Dataset.h"
#include "FuzzInput.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  if (size == 0)
    return 0;
  const std::string path = shmoareg::fuzz::writeInput(data + 1, size - 1, data[0] % 2 ? ".csv" : ".json");
  try
  {
    (void)shmoareg::training::readManifest(path);
  }
  catch (const std::exception &)
  {}
  return 0;
}
