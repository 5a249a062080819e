#include "PointFiles.h"
#include "CsvRows.h"

#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace shmoareg::cli {

PointFile
readPointCsv(const std::string & path)
{
  PointFile file;
  for (const CsvRow & csv : readCsvRows(path, "point file"))
  {
    std::vector<std::string> fields = csv.fields;
    if (fields.size() > 3 && fields.back().empty())
      fields.pop_back(); // "x,y,z," is x,y,z (the point file kept no empty last column)
    const size_t lineNumber = csv.lineNumber;
    const std::string & line = csv.text;
    if (lineNumber == 1 && !fields.empty() && fields[0].find_first_of("xX") != std::string::npos)
    {
      file.header = line;
      continue;
    }
    PointRow row;
    bool ok = fields.size() >= 3;
    for (unsigned int a = 0; ok && a < 3; ++a)
    {
      char * end = nullptr;
      row.point[a] = std::strtod(fields[a].c_str(), &end);
      ok = end != fields[a].c_str() && *end == '\0' && std::isfinite(row.point[a]);
    }
    if (!ok)
      throw std::runtime_error("'" + path + "' line " + std::to_string(lineNumber) +
                               ": expected x,y,z physical coordinates (mm), got '" + line + "'");
    for (size_t extra = 3; extra < fields.size(); ++extra)
      row.extraColumns += "," + fields[extra];
    file.rows.push_back(std::move(row));
  }
  return file;
}

} // namespace shmoareg::cli
