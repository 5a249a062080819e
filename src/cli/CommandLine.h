// Option parsing and safe output for the shmoareg subcommands.
#ifndef shmoareg_CommandLine_h
#define shmoareg_CommandLine_h

#include "itkImageFileWriter.h"
#include "itkTransformBase.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace shmoareg::cli {

// A wrong command line: the message is printed with the usage, exit code 2.
class UsageError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// What an option's value must be, declared with the option and checked by CLI11 as it parses:
// a wrong value is a usage error that names the option (exit code 2). Files are checked where
// they are read (exit code 1), which can say more than "does not exist" (an .mhd's data file,
// an unreadable header).
struct ValueCheck
{
  std::vector<std::string> choices; // one of these, when not empty
  bool number = false;              // a number, within the bounds below
  bool integer = false;             // a whole number
  double minimum = 0.0;
  bool minimumExcluded = false; // > minimum rather than >=

  static ValueCheck
  oneOf(std::vector<std::string> choices);
  static ValueCheck
  integerAtLeast(int minimum);
  static ValueCheck
  numberAtLeast(double minimum);
  static ValueCheck
  numberAbove(double minimum);
  // "" when `value` passes, else what is wrong with it.
  std::string
  problemWith(const std::string & value) const;
};

// The options of one subcommand, parsed by CLI11: its generated --help, --config FILE (TOML or
// INI: an elastix-style parameter file for any command) and --print-config (the options given,
// as such a file). Values are kept as text and converted where they are used.
class ArgumentParser
{
public:
  ArgumentParser(std::string command, std::string summary);
  // --name VALUE, optionally checked as it is parsed
  void
  option(const std::string & name,
         const std::string & valueName,
         const std::string & help,
         const ValueCheck & check = {});
  // --name (no value)
  void
  flag(const std::string & name, const std::string & help);
  // Parses argv[first ..]; returns false after printing the help (--help) or the options given
  // as a configuration file (--print-config): the command then stops with exit code 0.
  bool
  parse(int argc, char * argv[], int first);

  bool
  has(const std::string & name) const;
  std::string
  get(const std::string & name) const; // UsageError if absent
  std::string
  get(const std::string & name, const std::string & fallback) const;
  int
  getInt(const std::string & name, int fallback) const;
  double
  getDouble(const std::string & name, double fallback) const;
  // Sets or removes a value after parsing (a batch run's per-pair inputs and outputs).
  void
  set(const std::string & name, const std::string & value);
  void
  unset(const std::string & name);
  // UsageError unless every name is given.
  void
  require(const std::vector<std::string> & names) const;

  // --quiet and --verbose, which every command has. Progress (a line per stage that takes time)
  // goes to stderr, never into a command's results or files; --quiet leaves out progress and the
  // results printed on stdout (errors and warnings stay); --verbose adds details to progress.
  std::ostream &
  progress() const;
  std::ostream &
  results() const;
  std::ostream &
  details() const;

private:
  struct Spec
  {
    std::string valueName; // empty for flags
    std::string help;
    ValueCheck check;
  };
  std::string m_Command;
  std::string m_Summary;
  std::vector<std::pair<std::string, Spec>> m_Specs;
  std::map<std::string, std::string> m_Values;
  bool m_Quiet = false;
  bool m_Verbose = false;
};

// One output file of a command: the option that names it (for messages) and its path.
struct OutputFile
{
  std::string option;
  std::string path;
};

// Before any work: every output can be written (it is not a folder; its nearest existing
// parent folder is a writable folder), no output is one of `inputs` (compared after
// resolving links, a MetaImage .mhd output with its data file) and no two outputs are one
// file. Throws std::runtime_error naming the option and the path.
void
checkOutputFiles(const std::vector<OutputFile> & outputs, const std::vector<std::string> & inputs);

// Writes to a temporary file beside `path` (same extension, so ITK picks the same format),
// then renames it over `path`: a failed run leaves no partial output. A MetaImage .mhd keeps
// its data file beside it under the final name (`path` with .zraw or .raw).
class AtomicOutputs
{
public:
  ~AtomicOutputs();
  template <typename TImage>
  void
  write(const TImage * image, const std::string & path)
  {
    const std::string temporary = temporaryName(path);
    m_Pending.emplace_back(temporary, path);
    itk::WriteImage(image, temporary, true);
  }
  // An ITK transform file (.h5, .mat, .txt) the same way.
  void
  writeTransform(const itk::TransformBaseTemplate<double> * transform, const std::string & path);
  // A text file (JSON, CSV) the same way.
  void
  writeText(const std::string & text, const std::string & path);
  // Renames every written file into place.
  void
  commit();

private:
  static std::string
  temporaryName(const std::string & path);
  // A .mhd header's data file (ElementDataFile), empty for LOCAL data or another format.
  static std::string
  metaImageDataFile(const std::string & header);
  std::vector<std::pair<std::string, std::string>> m_Pending;
};

} // namespace shmoareg::cli

#endif
