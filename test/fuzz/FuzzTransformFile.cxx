// libFuzzer target: an ITK text transform file (`register --initial-transform`, `warp -t`), read
// through the command line's reader, which turns ITK's failures into errors that name the file.
#include "FuzzInput.h"
#include "TransformFiles.h"

#include "itkMacro.h"

extern "C" int
LLVMFuzzerTestOneInput(const uint8_t * data, size_t size)
{
  static const bool registered = (shmoareg::cli::registerTransformIO(), true);
  (void)registered;
  const std::string path = shmoareg::fuzz::writeInput(data, size, ".txt");
  try
  {
    (void)shmoareg::cli::readTransform(path, "the fuzzed transform");
  }
  catch (const itk::ExceptionObject &)
  {}
  catch (const std::exception &)
  {}
  return 0;
}
