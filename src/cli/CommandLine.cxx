#include "CommandLine.h"
#include "TransformFiles.h"

#include "itkTransformFileWriter.h"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace shmoareg::cli {

ArgumentParser::ArgumentParser(std::string command, std::string summary)
  : m_Command(std::move(command))
  , m_Summary(std::move(summary))
{}

ValueCheck
ValueCheck::oneOf(std::vector<std::string> choices)
{
  ValueCheck check;
  check.choices = std::move(choices);
  return check;
}

ValueCheck
ValueCheck::integerAtLeast(int minimum)
{
  ValueCheck check = numberAtLeast(minimum);
  check.integer = true;
  return check;
}

ValueCheck
ValueCheck::numberAtLeast(double minimum)
{
  ValueCheck check;
  check.number = true;
  check.minimum = minimum;
  return check;
}

ValueCheck
ValueCheck::numberAbove(double minimum)
{
  ValueCheck check = numberAtLeast(minimum);
  check.minimumExcluded = true;
  return check;
}

std::string
ValueCheck::problemWith(const std::string & value) const
{
  if (!choices.empty() && std::find(choices.begin(), choices.end(), value) == choices.end())
  {
    std::string list;
    for (size_t i = 0; i < choices.size(); ++i)
      list += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + choices[i];
    return "must be " + list + ", not '" + value + "'";
  }
  if (!number)
    return "";
  std::ostringstream bound;
  bound << (minimumExcluded ? "> " : ">= ") << minimum;
  const std::string wanted = std::string(integer ? "a whole number " : "a number ") + bound.str();
  size_t used = 0;
  double parsed = 0.0;
  try
  {
    parsed = integer ? static_cast<double>(std::stoll(value, &used)) : std::stod(value, &used);
  }
  catch (const std::logic_error &) // not a number, or out of range
  {
    used = 0;
  }
  if (used == 0 || used != value.size() || !std::isfinite(parsed) ||
      (minimumExcluded ? parsed <= minimum : parsed < minimum))
    return "must be " + wanted + ", not '" + value + "'";
  return "";
}

void
ArgumentParser::option(const std::string & name,
                       const std::string & valueName,
                       const std::string & help,
                       const ValueCheck & check)
{
  m_Specs.push_back({ name, { valueName, help, check } });
}

void
ArgumentParser::flag(const std::string & name, const std::string & help)
{
  m_Specs.push_back({ name, { "", help, {} } });
}

bool
ArgumentParser::parse(int argc, char * argv[], int first)
{
  CLI::App app(m_Summary, "shmoareg " + m_Command);
  app.set_help_flag("-h,--help", "this text");
  // A command with a JSON --config of its own (train, evaluate, synthesize: docs/training.md) keeps
  // it; every other command reads its options from TOML or INI files.
  const bool ownConfig =
    std::any_of(m_Specs.begin(), m_Specs.end(), [](const auto & spec) { return spec.first == "config"; });
  bool printConfig = false;
  if (!ownConfig)
  {
    app.set_config("--config", "", "read options from a TOML or INI file (such as --print-config writes)");
    app.allow_config_extras(CLI::config_extras_mode::error); // a misspelt key is an error, not ignored
    app
      .add_flag("--print-config",
                printConfig,
                "print the options given (command line and --config) as a configuration file, and stop")
      ->configurable(false);
  }
  app.add_flag("-q,--quiet", m_Quiet, "no progress and no results on the standard output (errors still)");
  app.add_flag("-v,--verbose", m_Verbose, "more detail in the progress lines");
  for (const auto & [name, spec] : m_Specs)
  {
    if (spec.valueName.empty())
      app.add_flag("--" + name, spec.help);
    else
    {
      CLI::Option * option = app.add_option("--" + name, spec.help)
                               ->type_name(spec.valueName)
                               ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
      if (!spec.check.choices.empty() || spec.check.number)
        option->check(CLI::Validator(
          [check = spec.check](std::string & value) { return check.problemWith(value); }, "", "value check"));
    }
  }
  std::vector<std::string> arguments(argv + first, argv + argc);
  std::reverse(arguments.begin(), arguments.end()); // CLI11 takes them last first
  try
  {
    app.parse(arguments);
  }
  catch (const CLI::CallForHelp &)
  {
    std::cout << app.help();
    return false;
  }
  catch (const CLI::ExtrasError &)
  {
    std::string extras;
    for (const auto & argument : app.remaining())
      extras += (extras.empty() ? "" : " ") + argument;
    throw UsageError("unknown argument '" + extras + "' for '" + m_Command + "'");
  }
  catch (const CLI::ParseError & error)
  {
    throw UsageError(error.what());
  }
  for (const auto & [name, spec] : m_Specs)
  {
    const CLI::Option * option = app.get_option("--" + name);
    if (option->count() == 0)
      continue;
    if (spec.valueName.empty())
    {
      // A flag: on the command line, or "name = true" in a configuration file.
      if (option->as<bool>())
        m_Values[name] = "1";
    }
    else
      m_Values[name] = option->results().back();
  }
  if (m_Quiet && m_Verbose)
    throw UsageError("--quiet and --verbose contradict each other: give one");
  if (printConfig)
  {
    std::cout << app.config_to_str(/*default_also=*/false, /*write_description=*/true);
    return false;
  }
  return true;
}

namespace {
// Where output that is not wanted goes (a stream without a buffer writes nothing).
std::ostream &
nowhere()
{
  static std::ostream stream(nullptr);
  return stream;
}
} // namespace

std::ostream &
ArgumentParser::progress() const
{
  return m_Quiet ? nowhere() : std::cerr;
}

std::ostream &
ArgumentParser::results() const
{
  return m_Quiet ? nowhere() : std::cout;
}

std::ostream &
ArgumentParser::details() const
{
  return m_Verbose ? std::cerr : nowhere();
}

bool
ArgumentParser::has(const std::string & name) const
{
  return m_Values.count(name) > 0;
}

void
ArgumentParser::set(const std::string & name, const std::string & value)
{
  m_Values[name] = value;
}

void
ArgumentParser::unset(const std::string & name)
{
  m_Values.erase(name);
}

std::string
ArgumentParser::get(const std::string & name) const
{
  auto found = m_Values.find(name);
  if (found == m_Values.end())
    throw UsageError("'" + m_Command + "' needs --" + name);
  return found->second;
}

std::string
ArgumentParser::get(const std::string & name, const std::string & fallback) const
{
  return has(name) ? get(name) : fallback;
}

int
ArgumentParser::getInt(const std::string & name, int fallback) const
{
  if (!has(name))
    return fallback;
  const std::string text = get(name);
  try
  {
    size_t used = 0;
    const int value = std::stoi(text, &used);
    if (used == text.size())
      return value;
  }
  catch (const std::exception &)
  {}
  throw UsageError("--" + name + " must be an integer, got '" + text + "'");
}

double
ArgumentParser::getDouble(const std::string & name, double fallback) const
{
  if (!has(name))
    return fallback;
  const std::string text = get(name);
  try
  {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size())
      return value;
  }
  catch (const std::exception &)
  {}
  throw UsageError("--" + name + " must be a number, got '" + text + "'");
}

void
ArgumentParser::require(const std::vector<std::string> & names) const
{
  for (const auto & n : names)
    get(n);
}

std::string
AtomicOutputs::temporaryName(const std::string & path)
{
  const std::filesystem::path p(path);
  // A missing output folder is made (as for ANTs' prefixes such as out/P); a failure names it.
  if (!p.parent_path().empty())
  {
    std::error_code error;
    std::filesystem::create_directories(p.parent_path(), error);
    if (error)
      throw std::runtime_error("cannot create the folder '" + p.parent_path().string() + "' for '" + path +
                               "': " + error.message());
  }
  const std::string name = p.filename().string();
  // Keep the whole extension (.nii.gz): ITK chooses the format from it.
  const size_t dot = name.find('.');
  const std::string stem = dot == std::string::npos ? name : name.substr(0, dot);
  const std::string extension = dot == std::string::npos ? "" : name.substr(dot);
  return (p.parent_path() / (stem + ".partial-" + std::to_string(::getpid()) + extension)).string();
}

void
AtomicOutputs::writeTransform(const itk::TransformBaseTemplate<double> * transform, const std::string & path)
{
  registerTransformIO();
  const std::string temporary = temporaryName(path);
  m_Pending.emplace_back(temporary, path);
  auto writer = itk::TransformFileWriterTemplate<double>::New();
  writer->SetInput(transform);
  writer->SetFileName(temporary);
  try
  {
    writer->Update();
  }
  catch (const itk::ExceptionObject & error)
  {
    throw std::runtime_error("cannot write the transform '" + path + "': " + error.GetDescription());
  }
}

void
AtomicOutputs::writeText(const std::string & text, const std::string & path)
{
  const std::string temporary = temporaryName(path);
  m_Pending.emplace_back(temporary, path);
  std::ofstream out(temporary);
  out << text;
  out.close();
  if (!out)
    throw std::runtime_error("cannot write '" + path + "'");
}

namespace {
bool
endsWithMhd(const std::string & path)
{
  std::string name = std::filesystem::path(path).filename().string();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name.size() > 4 && name.compare(name.size() - 4, 4, ".mhd") == 0;
}

// The same file, whether or not it exists yet: links and ./.. resolved.
std::filesystem::path
resolved(const std::string & path)
{
  std::error_code error;
  const std::filesystem::path canonical = std::filesystem::weakly_canonical(std::filesystem::absolute(path), error);
  return error ? std::filesystem::absolute(path).lexically_normal() : canonical;
}
} // namespace

void
checkOutputFiles(const std::vector<OutputFile> & outputs, const std::vector<std::string> & inputs)
{
  std::vector<std::pair<std::filesystem::path, std::string>> inputFiles;
  for (const auto & input : inputs)
    if (!input.empty())
      inputFiles.emplace_back(resolved(input), input);
  std::vector<std::pair<std::filesystem::path, const OutputFile *>> seen;
  for (const auto & output : outputs)
  {
    if (output.path.empty())
      continue;
    const std::filesystem::path target = resolved(output.path);
    std::vector<std::filesystem::path> written{ target };
    if (endsWithMhd(output.path)) // its data file, under the names a writer may use
      for (const char * extension : { ".zraw", ".raw" })
        written.push_back(std::filesystem::path(target).replace_extension(extension));
    for (const auto & file : written)
      for (const auto & input : inputFiles)
      {
        std::error_code error;
        if (file == input.first || std::filesystem::equivalent(file, input.first, error))
          throw std::runtime_error(output.option + " '" + output.path + "' would overwrite the input '" + input.second +
                                   "': choose another output name");
      }
    for (const auto & earlier : seen)
      if (earlier.first == target)
        throw std::runtime_error(output.option + " and " + earlier.second->option + " both name '" + output.path +
                                 "': give each output its own file");
    seen.emplace_back(target, &output);
    std::error_code error;
    if (std::filesystem::is_directory(target, error))
      throw std::runtime_error(output.option + " '" + output.path + "' is a folder: give a file name");
    // The nearest existing parent: the folders below it are made when the outputs are written.
    std::filesystem::path parent = target.parent_path();
    while (!parent.empty() && !std::filesystem::exists(parent, error) && parent != parent.root_path())
      parent = parent.parent_path();
    if (!std::filesystem::is_directory(parent, error))
      throw std::runtime_error(output.option + " '" + output.path + "' cannot be written: '" + parent.string() +
                               "' is not a folder");
    if (::access(parent.c_str(), W_OK | X_OK) != 0 ||
        (std::filesystem::exists(target, error) && ::access(target.c_str(), W_OK) != 0))
      throw std::runtime_error(output.option + " '" + output.path + "' cannot be written: no permission to write in '" +
                               parent.string() + "'");
  }
}

std::string
AtomicOutputs::metaImageDataFile(const std::string & header)
{
  if (!endsWithMhd(header))
    return std::string();
  std::ifstream in(header);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("ElementDataFile", 0) == 0)
    {
      const size_t equals = line.find('=');
      std::string value = equals == std::string::npos ? std::string() : line.substr(equals + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      value.erase(value.find_last_not_of(" \t\r") + 1);
      return value == "LOCAL" ? std::string() : value;
    }
  return std::string();
}

void
AtomicOutputs::commit()
{
  for (const auto & entry : m_Pending)
  {
    // A .mhd names its data file: move that to the final stem and say so in the header.
    const std::string dataFile = metaImageDataFile(entry.first);
    if (!dataFile.empty())
    {
      const std::filesystem::path folder = std::filesystem::path(entry.second).parent_path();
      const std::string finalData =
        std::filesystem::path(entry.second).stem().string() + std::filesystem::path(dataFile).extension().string();
      std::filesystem::rename(folder / dataFile, folder / finalData);
      std::ifstream in(entry.first);
      std::ostringstream header;
      std::string line;
      while (std::getline(in, line))
        header << (line.rfind("ElementDataFile", 0) == 0 ? "ElementDataFile = " + finalData : line) << "\n";
      in.close();
      std::ofstream(entry.first, std::ios::trunc) << header.str();
    }
    std::filesystem::rename(entry.first, entry.second);
  }
  m_Pending.clear();
}

AtomicOutputs::~AtomicOutputs()
{
  for (const auto & entry : m_Pending)
  {
    const std::string dataFile = metaImageDataFile(entry.first);
    if (!dataFile.empty())
      std::remove((std::filesystem::path(entry.first).parent_path() / dataFile).c_str());
    std::remove(entry.first.c_str());
  }
}

} // namespace shmoareg::cli
