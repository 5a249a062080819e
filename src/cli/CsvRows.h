// The CSV reading shared by the command line's small tables (pair lists, point files): non-empty
// lines (a trailing \r dropped) split at commas, with their 1-based line numbers. No quoting.
#ifndef shmoareg_CsvRows_h
#define shmoareg_CsvRows_h

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace shmoareg::cli {

struct CsvRow
{
  size_t lineNumber = 0;
  std::string text;
  std::vector<std::string> fields; // "a,b," gives a, b and an empty last field
};

// Throws std::runtime_error "cannot read the WHAT 'PATH'" when the file cannot be opened.
inline std::vector<CsvRow>
readCsvRows(const std::string & path, const std::string & what)
{
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot read the " + what + " '" + path + "'");
  std::vector<CsvRow> rows;
  std::string line;
  for (size_t lineNumber = 1; std::getline(in, line); ++lineNumber)
  {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty())
      continue;
    CsvRow row{ lineNumber, line, {} };
    std::stringstream s(line);
    for (std::string item; std::getline(s, item, ',');)
      row.fields.push_back(item);
    if (line.back() == ',')
      row.fields.emplace_back();
    rows.push_back(std::move(row));
  }
  return rows;
}

} // namespace shmoareg::cli

#endif
