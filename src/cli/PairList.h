// The pair list of `shmoareg register --pairs PAIRS.csv`: one registration per row, in a cohort
// that a cluster's job array may split with --shard I/N.
#ifndef shmoareg_PairList_h
#define shmoareg_PairList_h

#include <cstddef>
#include <string>
#include <vector>

namespace shmoareg::cli {

struct PairEntry
{
  size_t row = 0;    // 1-based data row of the file
  std::string name;  // the `prefix` column, else pair-ROW: the pair's output folder
  std::string fixed; // paths resolved against the CSV's folder
  std::string moving;
  std::string fixedLabels; // optional columns, empty when absent
  std::string movingLabels;
  std::string fixedMask;
  std::string movingMask;
};

// CSV with a header naming its columns: fixed and moving (required), moving_labels,
// fixed_labels, fixed_mask, moving_mask and prefix (optional). Relative paths are relative to the
// CSV's folder. Throws std::runtime_error naming the file and the line (an unknown or missing
// column, a row with another number of fields, an empty fixed or moving, a prefix that is not a
// plain name, two rows with one prefix).
std::vector<PairEntry>
readPairList(const std::string & path);

struct Shard
{
  size_t index = 0; // 0 .. count - 1
  size_t count = 1;
  bool
  contains(size_t position) const // position: 0-based among the list's pairs
  {
    return position % count == index;
  }
};

// "I/N" with 0 <= I < N; throws std::invalid_argument otherwise.
Shard
parseShard(const std::string & text);

} // namespace shmoareg::cli

#endif
