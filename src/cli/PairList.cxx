#include "PairList.h"
#include "CsvRows.h"

#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace shmoareg::cli {

std::vector<PairEntry>
readPairList(const std::string & path)
{
  const std::vector<CsvRow> rows = readCsvRows(path, "pair list");
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  const auto resolve = [&folder](const std::string & p) {
    return p.empty() || std::filesystem::path(p).is_absolute() ? p : (folder / p).lexically_normal().string();
  };
  const std::set<std::string> known{ "fixed",      "moving",      "moving_labels", "fixed_labels",
                                     "fixed_mask", "moving_mask", "prefix" };
  std::map<std::string, size_t> column;
  std::vector<PairEntry> pairs;
  std::set<std::string> names;
  size_t columns = 0;
  for (const CsvRow & row : rows)
  {
    const std::vector<std::string> & fields = row.fields;
    const std::string where = "'" + path + "' line " + std::to_string(row.lineNumber) + ": ";
    if (column.empty())
    {
      for (size_t i = 0; i < fields.size(); ++i)
      {
        if (!known.count(fields[i]))
          throw std::runtime_error(where + "unknown column '" + fields[i] +
                                   "' (the columns: fixed, moving, moving_labels, fixed_labels, fixed_mask, "
                                   "moving_mask, prefix)");
        if (!column.emplace(fields[i], i).second)
          throw std::runtime_error(where + "the column '" + fields[i] + "' appears twice");
      }
      if (!column.count("fixed") || !column.count("moving"))
        throw std::runtime_error(where + "the header must name the columns fixed and moving");
      columns = fields.size();
      continue;
    }
    if (fields.size() != columns)
      throw std::runtime_error(where + std::to_string(fields.size()) + " fields where the header has " +
                               std::to_string(columns));
    const auto field = [&](const std::string & name) {
      const auto found = column.find(name);
      return found == column.end() ? std::string() : fields[found->second];
    };
    PairEntry pair;
    pair.row = pairs.size() + 1;
    pair.fixed = resolve(field("fixed"));
    pair.moving = resolve(field("moving"));
    if (pair.fixed.empty() || pair.moving.empty())
      throw std::runtime_error(where + "a pair needs a fixed and a moving image");
    pair.movingLabels = resolve(field("moving_labels"));
    pair.fixedLabels = resolve(field("fixed_labels"));
    pair.fixedMask = resolve(field("fixed_mask"));
    pair.movingMask = resolve(field("moving_mask"));
    pair.name = field("prefix");
    if (pair.name.empty())
    {
      std::ostringstream name;
      name << "pair-" << pair.row;
      pair.name = name.str();
    }
    if (pair.name == "." || pair.name == ".." || pair.name.find_first_of("/\\") != std::string::npos)
      throw std::runtime_error(where + "the prefix '" + pair.name + "' must be a plain name (it names a folder)");
    if (!names.insert(pair.name).second)
      throw std::runtime_error(where + "the prefix '" + pair.name + "' is used twice");
    pairs.push_back(pair);
  }
  if (column.empty())
    throw std::runtime_error("the pair list '" + path + "' is empty (it needs a header: fixed,moving,...)");
  return pairs;
}

Shard
parseShard(const std::string & text)
{
  const size_t slash = text.find('/');
  const auto number = [](const std::string & s, size_t & value) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 9)
      return false;
    value = std::stoul(s);
    return true;
  };
  Shard shard;
  if (slash == std::string::npos || !number(text.substr(0, slash), shard.index) ||
      !number(text.substr(slash + 1), shard.count) || shard.count == 0 || shard.index >= shard.count)
    throw std::invalid_argument("--shard must be I/N with 0 <= I < N (e.g. 0/4), got '" + text + "'");
  return shard;
}

} // namespace shmoareg::cli
