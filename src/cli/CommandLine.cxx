#include "CommandLine.h"
#include "TransformFiles.h"

#include "itkTransformFileWriter.h"

#include <fstream>

#include <iostream>
#include <sstream>
#include <unistd.h>

namespace shmoareg::cli {

ArgumentParser::ArgumentParser(std::string command, std::string summary)
  : m_Command(std::move(command))
  , m_Summary(std::move(summary))
{}

void
ArgumentParser::option(const std::string & name, const std::string & valueName, const std::string & help)
{
  m_Specs.push_back({ name, { valueName, help } });
}

void
ArgumentParser::flag(const std::string & name, const std::string & help)
{
  m_Specs.push_back({ name, { "", help } });
}

bool
ArgumentParser::parse(int argc, char * argv[], int first)
{
  for (int i = first; i < argc; ++i)
  {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h")
    {
      std::cout << usage();
      return false;
    }
    if (arg.rfind("--", 0) != 0)
      throw UsageError("unexpected argument '" + arg + "'");
    const std::string name = arg.substr(2);
    auto spec = std::find_if(m_Specs.begin(), m_Specs.end(), [&](const auto & s) { return s.first == name; });
    if (spec == m_Specs.end())
      throw UsageError("unknown argument '" + arg + "' for '" + m_Command + "'");
    if (spec->second.valueName.empty())
    {
      m_Values[name] = "1";
      continue;
    }
    if (i + 1 >= argc)
      throw UsageError("argument '" + arg + "' needs a value (" + spec->second.valueName + ")");
    m_Values[name] = argv[++i];
  }
  return true;
}

bool
ArgumentParser::has(const std::string & name) const
{
  return m_Values.count(name) > 0;
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
ArgumentParser::usage() const
{
  std::ostringstream out;
  out << "usage: shmoareg " << m_Command << " [options]\n  " << m_Summary << "\noptions:\n";
  for (const auto & s : m_Specs)
  {
    std::string left = "  --" + s.first + (s.second.valueName.empty() ? "" : " " + s.second.valueName);
    out << left << std::string(left.size() < 34 ? 34 - left.size() : 1, ' ') << s.second.help << "\n";
  }
  out << "  --help                          this text\n";
  return out.str();
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

void
AtomicOutputs::commit()
{
  for (const auto & entry : m_Pending)
    std::filesystem::rename(entry.first, entry.second);
  m_Pending.clear();
}

AtomicOutputs::~AtomicOutputs()
{
  for (const auto & entry : m_Pending)
    std::remove(entry.first.c_str());
}

} // namespace shmoareg::cli
