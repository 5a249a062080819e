// Point sets for `shmoareg warp --points`: CSV rows x,y,z in physical coordinates (LPS, mm),
// further columns kept as they are, an optional header row (its first field holds an x).
#ifndef shmoareg_PointFiles_h
#define shmoareg_PointFiles_h

#include "itkPoint.h"

#include <string>
#include <vector>

namespace shmoareg::cli {

struct PointRow
{
  itk::Point<double, 3> point;
  std::string extraColumns; // ",id,label" as in the file, or empty
};

struct PointFile
{
  std::string header; // empty when the file has none
  std::vector<PointRow> rows;
};

// Throws std::runtime_error naming the file and the line of the first row that is not three
// finite numbers.
PointFile
readPointCsv(const std::string & path);

} // namespace shmoareg::cli

#endif
