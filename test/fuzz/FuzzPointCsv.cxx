// libFuzzer target: a point CSV (`shmoareg warp --points`).
#include "FuzzInput.h"
#include "PointFiles.h"

#include <cmath>

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  const std::string path = shmoareg::fuzz::writeInput(data, size, ".csv");
  try
  {
    for (const auto & row : shmoareg::cli::readPointCsv(path).rows)
      for (unsigned int a = 0; a < 3; ++a)
        if (!std::isfinite(row.point[a]))
          __builtin_trap(); // accepted rows hold finite coordinates
  }
  catch (const std::exception &)
  {}
  return 0;
}
