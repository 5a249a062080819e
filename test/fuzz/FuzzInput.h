// Shared by the libFuzzer targets: the module's parsers read files, so each input is written to
// a file (in a folder of this process under /dev/shm when it exists) with the extension that
// selects the parser.
#ifndef shmoareg_FuzzInput_h
#define shmoareg_FuzzInput_h

#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace shmoareg::fuzz {

inline std::string
writeInput(const uint8_t * data, size_t size, const std::string & extension)
{
  namespace fs = std::filesystem;
  static const fs::path folder = [] {
    const fs::path base = fs::exists("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
    const fs::path f = base / ("shmoareg-fuzz-" + std::to_string(::getpid()));
    fs::create_directories(f);
    return f;
  }();
  const std::string path = (folder / ("input" + extension)).string();
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file.write(reinterpret_cast<const char *>(data), static_cast<std::streamsize>(size));
  return path;
}

} // namespace shmoareg::fuzz

#endif
