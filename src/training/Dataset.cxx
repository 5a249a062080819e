#include "Dataset.h"
#include "ImageFiles.h"

#include "itkImageFileReader.h"
#include "itkImageRegionConstIterator.h"
#include "itkSHMoARegImageIO.h"
#include "itkSHMoARegImageGrid.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>

namespace shmoareg::training {

namespace fs = std::filesystem;

std::vector<SubjectEntry>
DatasetManifest::split(const std::string & wanted) const
{
  std::vector<SubjectEntry> selected;
  std::copy_if(subjects.begin(), subjects.end(), std::back_inserter(selected), [&](const SubjectEntry & s) {
    return s.split == wanted;
  });
  return selected;
}

void
DatasetManifest::requireSplits(const std::vector<std::string> & names) const
{
  for (const auto & n : names)
  {
    if (split(n).empty())
      throw DatasetError("dataset '" + name + "' has an empty '" + n + "' split");
  }
}

namespace {
std::string
resolve(const fs::path & base, const std::string & path)
{
  if (path.empty())
    return path;
  const fs::path p(path);
  return (p.is_absolute() ? p : base / p).lexically_normal().string();
}

void
checkEntry(const SubjectEntry & s, const std::string & source)
{
  if (s.id.empty())
    throw DatasetError(source + ": a subject has no id");
  if (s.split != "train" && s.split != "val" && s.split != "test")
    throw DatasetError(source + ": subject '" + s.id + "' has split '" + s.split + "' (use train, val or test)");
  if (!fs::exists(s.image))
    throw DatasetError(source + ": subject '" + s.id + "': image file '" + s.image + "' does not exist");
  if (!s.labels.empty() && !fs::exists(s.labels))
    throw DatasetError(source + ": subject '" + s.id + "': label file '" + s.labels + "' does not exist");
}

std::vector<std::string>
splitCsvLine(const std::string & line)
{
  std::vector<std::string> fields;
  std::stringstream stream(line);
  for (std::string field; std::getline(stream, field, ',');)
  {
    field.erase(0, field.find_first_not_of(" \t\r"));
    field.erase(field.find_last_not_of(" \t\r") + 1);
    fields.push_back(field);
  }
  if (!line.empty() && line.back() == ',')
    fields.emplace_back();
  return fields;
}

std::vector<fs::path>
sortedFiles(const fs::path & folder, const std::string & prefix)
{
  std::vector<fs::path> files;
  if (!fs::is_directory(folder))
    return files; // the caller names the layout it expected
  for (const auto & entry : fs::directory_iterator(folder))
  {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.rfind(prefix, 0) == 0 &&
        (name.size() > 7 && (name.substr(name.size() - 7) == ".nii.gz" || name.substr(name.size() - 4) == ".nii")))
      files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::string
assignSplit(size_t index, size_t train, size_t val, size_t test)
{
  if (index < train)
    return "train";
  if (index < train + val)
    return "val";
  if (index < train + val + test)
    return "test";
  return "";
}

std::string
stripNifti(const std::string & name)
{
  for (const char * ext : { ".nii.gz", ".nii" })
  {
    const std::string e(ext);
    if (name.size() > e.size() && name.compare(name.size() - e.size(), e.size(), e) == 0)
      return name.substr(0, name.size() - e.size());
  }
  return name;
}
} // namespace

DatasetManifest
readManifest(const std::string & path)
{
  std::ifstream in(path);
  if (!in)
    throw DatasetError("cannot read the manifest '" + path + "'");
  const fs::path base = fs::absolute(fs::path(path)).parent_path();
  DatasetManifest manifest;
  manifest.name = fs::path(path).stem().string();
  const std::string extension = fs::path(path).extension().string();
  if (extension == ".json")
  {
    nlohmann::json j;
    try
    {
      j = nlohmann::json::parse(in);
      if (j.contains("name"))
        manifest.name = j.at("name").get<std::string>();
      for (const auto & s : j.at("subjects"))
      {
        SubjectEntry entry;
        entry.id = s.at("id").get<std::string>();
        entry.image = resolve(base, s.at("image").get<std::string>());
        entry.labels = s.contains("labels") ? resolve(base, s.at("labels").get<std::string>()) : "";
        entry.split = s.at("split").get<std::string>();
        entry.toAtlas = s.contains("to_atlas") ? resolve(base, s.at("to_atlas").get<std::string>()) : "";
        entry.fromAtlas = s.contains("from_atlas") ? resolve(base, s.at("from_atlas").get<std::string>()) : "";
        entry.mirrored = s.value("mirrored", false);
        manifest.subjects.push_back(entry);
      }
    }
    catch (const nlohmann::json::exception & error)
    {
      throw DatasetError("manifest '" + path + "' is not a valid manifest: " + error.what());
    }
  }
  else if (extension == ".csv")
  {
    std::string line;
    std::getline(in, line);
    const auto header = splitCsvLine(line);
    if (header.size() < 4 || header[0] != "id" || header[1] != "image" || header[2] != "labels" || header[3] != "split")
      throw DatasetError("manifest '" + path + "': the CSV header must be id,image,labels,split");
    for (int number = 2; std::getline(in, line); ++number)
    {
      if (line.find_first_not_of(" \t\r") == std::string::npos)
        continue;
      const auto fields = splitCsvLine(line);
      if (fields.size() != 4)
        throw DatasetError("manifest '" + path + "' line " + std::to_string(number) + ": expected 4 fields, got " +
                           std::to_string(fields.size()));
      manifest.subjects.push_back({ fields[0], resolve(base, fields[1]), resolve(base, fields[2]), fields[3] });
    }
  }
  else
  {
    throw DatasetError("manifest '" + path + "' must be a .json or .csv file");
  }
  if (manifest.subjects.empty())
    throw DatasetError("manifest '" + path + "' lists no subjects");
  for (const auto & s : manifest.subjects)
    checkEntry(s, "manifest '" + path + "'");
  return manifest;
}

void
writeManifest(const DatasetManifest & manifest, const std::string & path)
{
  // readManifest resolves a relative path against the manifest's folder, not the working
  // directory: a file inside that folder is written relative to it (the folder can move), any
  // other file absolute.
  const fs::path base = fs::absolute(fs::path(path)).parent_path().lexically_normal();
  const auto stored = [&base](const std::string & file) -> std::string {
    if (file.empty())
      return file;
    const fs::path absolute = fs::absolute(fs::path(file)).lexically_normal();
    const fs::path relative = absolute.lexically_relative(base);
    if (!relative.empty() && *relative.begin() != "..")
      return relative.string();
    return absolute.string();
  };
  nlohmann::ordered_json j;
  j["name"] = manifest.name;
  j["subjects"] = nlohmann::json::array();
  for (const auto & s : manifest.subjects)
  {
    nlohmann::ordered_json entry{
      { "id", s.id }, { "image", stored(s.image) }, { "labels", stored(s.labels) }, { "split", s.split }
    };
    if (!s.toAtlas.empty())
    {
      entry["to_atlas"] = stored(s.toAtlas);
      entry["from_atlas"] = stored(s.fromAtlas);
    }
    if (s.mirrored)
      entry["mirrored"] = true;
    j["subjects"].push_back(entry);
  }
  const std::string temporary = path + ".partial";
  {
    std::ofstream out(temporary);
    out << j.dump(2) << "\n";
    if (!out)
      throw DatasetError("cannot write the manifest '" + path + "'");
  }
  fs::rename(temporary, path);
}

DatasetManifest
scanLearn2RegOASIS(const std::string & folder, size_t train, size_t val, size_t test)
{
  DatasetManifest manifest;
  manifest.name = "OASIS (Learn2Reg layout)";
  const auto images = sortedFiles(fs::path(folder) / "imagesTr", "OASIS_");
  if (images.empty())
    throw DatasetError("'" + folder + "' has no imagesTr/OASIS_*.nii.gz: not Learn2Reg's OASIS layout");
  for (size_t i = 0; i < images.size(); ++i)
  {
    const std::string split = assignSplit(i, train, val, test);
    if (split.empty())
      break;
    const std::string name = images[i].filename().string();
    const fs::path labels = fs::path(folder) / "labelsTr" / name;
    manifest.subjects.push_back(
      { stripNifti(name), images[i].string(), fs::exists(labels) ? labels.string() : "", split });
  }
  for (const auto & s : manifest.subjects)
    checkEntry(s, "OASIS folder '" + folder + "'");
  return manifest;
}

DatasetManifest
scanBTCV(const std::string & folder, size_t train, size_t val, size_t test)
{
  DatasetManifest manifest;
  manifest.name = "BTCV";
  const auto images = sortedFiles(fs::path(folder) / "img", "img");
  if (images.empty())
    throw DatasetError("'" + folder + "' has no img/img*.nii.gz: not the BTCV layout");
  for (size_t i = 0; i < images.size(); ++i)
  {
    const std::string split = assignSplit(i, train, val, test);
    if (split.empty())
      break;
    const std::string name = images[i].filename().string();
    const fs::path labels = fs::path(folder) / "label" / ("label" + name.substr(3));
    manifest.subjects.push_back(
      { stripNifti(name), images[i].string(), fs::exists(labels) ? labels.string() : "", split });
  }
  for (const auto & s : manifest.subjects)
    checkEntry(s, "BTCV folder '" + folder + "'");
  return manifest;
}

void
ensureImageIO()
{
  static std::once_flag once;
  std::call_once(once, [] { itk::SHMoARegRegisterImageIO(); });
}

LabelImageType::Pointer
readLabelMap(const std::string & path, const std::string & description)
{
  // Read as float to see values that an integer read would silently truncate.
  const ImageType::Pointer values = readImageFile<ImageType>(path, description);
  auto labels = LabelImageType::New();
  labels->CopyInformation(values);
  labels->SetRegions(values->GetLargestPossibleRegion());
  labels->Allocate();
  itk::ImageRegionConstIterator<ImageType> in(values, values->GetLargestPossibleRegion());
  auto * out = labels->GetBufferPointer();
  for (; !in.IsAtEnd(); ++in, ++out)
  {
    const float v = in.Get();
    if (!std::isfinite(v) || v != std::floor(v) || v < 0.0f || v > 65535.0f)
      throw DatasetError("the " + description + " '" + path + "' has the value " + std::to_string(v) +
                         ", not a label (labels are integers in [0, 65535])");
    *out = static_cast<unsigned short>(v);
  }
  return labels;
}

Subject
loadSubject(const SubjectEntry & entry)
{
  ensureImageIO();
  Subject subject;
  subject.id = entry.id;
  try
  {
    subject.image = readImageFile<ImageType>(entry.image, "image");
  }
  catch (const ImageFileError & error)
  {
    throw DatasetError("subject '" + entry.id + "': " + error.what());
  }
  if (!entry.labels.empty())
  {
    subject.labels = readLabelMap(entry.labels);
    const std::string difference = itk::SHMoARegImageGrid::DescribeGridDifference<3>(subject.labels, subject.image);
    if (!difference.empty())
      throw DatasetError("subject '" + entry.id + "': the label map '" + entry.labels +
                         "' is not on the grid of its image '" + entry.image + "' (labels vs image: " + difference +
                         ")");
  }
  return subject;
}

} // namespace shmoareg::training
