// What the ITK peer programs of the registration comparison share: reading the pair, writing
// the field atomically in ITK's convention (on the fixed grid, x -> x + u(x), mm), timing.
#ifndef shmoareg_bench_PeerCommon_h
#define shmoareg_bench_PeerCommon_h

#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkMultiThreaderBase.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>

namespace shmoareg::bench {

using PeerImageType = itk::Image<float, 3>;
using PeerFieldType = itk::Image<itk::Vector<float, 3>, 3>;

struct PeerArguments
{
  std::string fixed, moving, outputField;
  int threads = 0;
};

// usage: PROGRAM FIXED MOVING OUTPUT_FIELD [THREADS]
inline PeerArguments
parsePeerArguments(int argc, char * argv[])
{
  if (argc < 4 || argc > 5)
  {
    std::cerr << "usage: " << argv[0] << " FIXED MOVING OUTPUT_FIELD [THREADS]\n";
    std::exit(2);
  }
  PeerArguments a{ argv[1], argv[2], argv[3], argc == 5 ? std::atoi(argv[4]) : 0 };
  if (a.threads > 0)
    itk::MultiThreaderBase::SetGlobalDefaultNumberOfThreads(a.threads);
  return a;
}

template <typename TField>
void
writeFieldAtomically(const TField * field, const std::string & path)
{
  namespace fs = std::filesystem;
  const fs::path p(path);
  const std::string name = p.filename().string();
  const size_t dot = name.find('.');
  const fs::path temporary =
    p.parent_path() / (name.substr(0, dot) + ".partial" + (dot == std::string::npos ? "" : name.substr(dot)));
  itk::WriteImage(field, temporary.string(), true);
  fs::rename(temporary, p);
}

class Stopwatch
{
public:
  double
  seconds() const
  {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - m_Start).count();
  }

private:
  std::chrono::steady_clock::time_point m_Start = std::chrono::steady_clock::now();
};

} // namespace shmoareg::bench

#endif
