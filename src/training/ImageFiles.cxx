#include "ImageFiles.h"

#include "itkImageIOFactory.h"
#include "itkSHMoARegImageIO.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <mutex>
#include <sstream>
#include <vector>

namespace shmoareg::training {
namespace {

bool
endsWith(const std::string & text, const std::string & suffix)
{
  if (text.size() < suffix.size())
    return false;
  return std::equal(suffix.rbegin(), suffix.rend(), text.rbegin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
}

std::vector<unsigned char>
readBytes(const std::string & path)
{
  std::ifstream in(path, std::ios::binary);
  return std::vector<unsigned char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A zlib or gzip stream from `data`: how many bytes it inflates to, whether it reached its
// end-of-stream marker, and its first `keep` inflated bytes.
struct Inflated
{
  uint64_t size = 0;
  bool complete = false;
  std::vector<unsigned char> head;
};

Inflated
inflateStream(const unsigned char * data, size_t length, size_t keep)
{
  Inflated result;
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 32) != Z_OK) // 32: detect zlib or gzip headers
    return result;
  stream.next_in = const_cast<unsigned char *>(data);
  stream.avail_in = static_cast<uInt>(length);
  std::vector<unsigned char> buffer(1 << 18);
  for (;;)
  {
    stream.next_out = buffer.data();
    stream.avail_out = static_cast<uInt>(buffer.size());
    const int status = inflate(&stream, Z_NO_FLUSH);
    const size_t produced = buffer.size() - stream.avail_out;
    if (result.head.size() < keep)
      result.head.insert(
        result.head.end(), buffer.begin(), buffer.begin() + std::min(produced, keep - result.head.size()));
    result.size += produced;
    if (status == Z_STREAM_END)
    {
      result.complete = true;
      break;
    }
    if (status != Z_OK || (produced == 0 && stream.avail_in == 0))
      break; // a corrupt stream, or its input ends before its marker
  }
  inflateEnd(&stream);
  return result;
}

bool
isGzip(const std::vector<unsigned char> & bytes)
{
  return bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
}

template <typename T>
T
readValue(const std::vector<unsigned char> & bytes, size_t offset, bool swap)
{
  T value{};
  if (offset + sizeof(T) > bytes.size())
    return value;
  unsigned char raw[sizeof(T)];
  std::memcpy(raw, bytes.data() + offset, sizeof(T));
  if (swap)
    std::reverse(raw, raw + sizeof(T));
  std::memcpy(&value, raw, sizeof(T));
  return value;
}

std::string
truncatedMessage(const std::string & path, const std::string & description, uint64_t expected, uint64_t present)
{
  return "the " + description + " '" + path + "' is truncated: its voxel data need " + std::to_string(expected) +
         " bytes, the file holds " + std::to_string(present);
}

// A single-file NIfTI (.nii, .nii.gz): the voxel data from the header's own dimensions, type
// and offset, independent of how ITK's reader reinterprets them. ITK's NIfTI reader also turns
// NaN and infinite voxels into 0 without a word: they are listed here so that readImageFile
// can put them back and the caller sees them.
void
checkNiftiData(const std::string & path, const std::string & description, ImageFileContents & contents)
{
  std::vector<unsigned char> data = readBytes(path);
  if (isGzip(data))
  {
    Inflated inflated = inflateStream(data.data(), data.size(), std::numeric_limits<size_t>::max());
    if (!inflated.complete)
      throw ImageFileError("the " + description + " '" + path +
                           "' is truncated or corrupted: its compressed data end before the end-of-stream marker");
    data = std::move(inflated.head);
  }
  const int32_t size = readValue<int32_t>(data, 0, false);
  const bool swap = size != 348 && size != 540;
  const int32_t headerSize = swap ? readValue<int32_t>(data, 0, true) : size;
  uint64_t voxels = 1;
  uint64_t offset = 0;
  int bits = 0;
  int datatype = 0;
  if (headerSize == 348)
  {
    const int dimensions = readValue<int16_t>(data, 40, swap);
    for (int d = 1; d <= std::min(dimensions, 7); ++d)
      voxels *= static_cast<uint64_t>(std::max<int16_t>(1, readValue<int16_t>(data, 40 + 2 * d, swap)));
    datatype = readValue<int16_t>(data, 70, swap);
    bits = readValue<int16_t>(data, 72, swap);
    offset = static_cast<uint64_t>(std::max(0.0f, readValue<float>(data, 108, swap)));
  }
  else if (headerSize == 540)
  {
    const int64_t dimensions = readValue<int64_t>(data, 16, swap);
    for (int64_t d = 1; d <= std::min<int64_t>(dimensions, 7); ++d)
      voxels *= static_cast<uint64_t>(std::max<int64_t>(1, readValue<int64_t>(data, 16 + 8 * d, swap)));
    datatype = readValue<int16_t>(data, 12, swap);
    bits = readValue<int16_t>(data, 14, swap);
    offset = static_cast<uint64_t>(std::max<int64_t>(0, readValue<int64_t>(data, 168, swap)));
  }
  else
  {
    return; // not a header this check knows: ITK's reader decides
  }
  const uint64_t expected = voxels * static_cast<uint64_t>(std::max(0, bits)) / 8;
  const uint64_t length = data.size();
  if (length < offset + expected)
    throw ImageFileError(truncatedMessage(path, description, expected, length > offset ? length - offset : 0));
  auto scan = [&](auto zero) {
    using T = decltype(zero);
    for (uint64_t v = 0; v < voxels; ++v)
    {
      const T value = readValue<T>(data, offset + v * sizeof(T), swap);
      if (!std::isfinite(value))
        contents.nonFiniteVoxels.emplace_back(v, static_cast<float>(value));
    }
  };
  if (datatype == 16) // DT_FLOAT32
    scan(0.0f);
  else if (datatype == 64) // DT_FLOAT64
    scan(0.0);
}

// A MetaImage (.mha with LOCAL data, or .mhd with one data file), compressed or not.
void
checkMetaImageData(const std::string & path, const std::string & description, uint64_t expected)
{
  std::ifstream in(path, std::ios::binary);
  std::string line;
  bool compressed = false;
  std::string dataFile;
  while (std::getline(in, line))
  {
    const size_t equals = line.find('=');
    if (equals == std::string::npos)
      continue;
    auto trim = [](std::string s) {
      s.erase(0, s.find_first_not_of(" \t\r"));
      s.erase(s.find_last_not_of(" \t\r") + 1);
      return s;
    };
    const std::string key = trim(line.substr(0, equals));
    const std::string value = trim(line.substr(equals + 1));
    if (key == "CompressedData")
      compressed = value == "True" || value == "true";
    if (key == "HeaderSize" && value != "0")
      return; // data after a skipped header: left to ITK's reader
    if (key == "ElementDataFile")
    {
      dataFile = value;
      break; // the data follow this line (LOCAL) or lie in that file
    }
  }
  std::vector<unsigned char> data;
  if (dataFile == "LOCAL" || dataFile == "Local" || dataFile == "local")
  {
    const std::streamoff start = in.tellg();
    if (start < 0)
    {
      data.clear();
    }
    else
    {
      const std::vector<unsigned char> all = readBytes(path);
      data.assign(all.begin() + std::min<std::streamoff>(start, static_cast<std::streamoff>(all.size())), all.end());
    }
  }
  else if (!dataFile.empty() && dataFile.find_first_of(" %") == std::string::npos && dataFile.rfind("LIST", 0) != 0)
  {
    const std::filesystem::path dataPath = std::filesystem::path(path).parent_path() / dataFile;
    if (!std::filesystem::exists(dataPath))
      throw ImageFileError("the " + description + " '" + path + "' names the data file '" + dataPath.string() +
                           "', which does not exist");
    data = readBytes(dataPath.string());
  }
  else
  {
    return; // a file list or pattern: left to ITK's reader
  }
  if (compressed)
  {
    const Inflated inflated = inflateStream(data.data(), data.size(), 0);
    if (!inflated.complete || inflated.size < expected)
      throw ImageFileError("the " + description + " '" + path +
                           "' is truncated or corrupted: its compressed voxel data end early (" +
                           std::to_string(inflated.size) + " of " + std::to_string(expected) + " bytes)");
  }
  else if (data.size() < expected)
  {
    throw ImageFileError(truncatedMessage(path, description, expected, data.size()));
  }
}

std::string
joinSizes(const std::vector<uint64_t> & sizes, const char * separator)
{
  std::ostringstream text;
  for (size_t a = 0; a < sizes.size(); ++a)
    text << (a ? separator : "") << sizes[a];
  return text.str();
}

} // namespace

std::string
firstLine(const std::string & text)
{
  const size_t end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

ImageFileContents
checkImageFile(const std::string & path, const std::string & description, unsigned int components)
{
  ImageFileContents contents;
  static std::once_flag once;
  std::call_once(once, [] { itk::SHMoARegRegisterImageIO(); });
  std::error_code error;
  if (!std::filesystem::exists(path, error))
    throw ImageFileError("the " + description + " '" + path + "' does not exist");
  if (std::filesystem::is_directory(path, error))
    throw ImageFileError("the " + description + " '" + path + "' is a folder, not an image file");
  itk::ImageIOBase::Pointer io =
    itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
  if (!io)
    throw ImageFileError("cannot read the " + description + " '" + path +
                         "': not an image in a format ITK reads (NIfTI, MetaImage, NRRD, ...)");
  try
  {
    io->SetFileName(path);
    io->ReadImageInformation();
  }
  catch (const itk::ExceptionObject & exception)
  {
    throw ImageFileError("cannot read the " + description + " '" + path +
                         "': " + firstLine(exception.GetDescription()));
  }
  const unsigned int dimensions = io->GetNumberOfDimensions();
  std::vector<uint64_t> sizes;
  for (unsigned int a = 0; a < dimensions; ++a)
    sizes.push_back(io->GetDimensions(a));
  uint64_t volumes = 1;
  for (unsigned int a = 3; a < dimensions; ++a)
    volumes *= sizes[a];
  if (volumes > 1)
    throw ImageFileError("the " + description + " '" + path + "' is " + std::to_string(dimensions) + "-D (" +
                         joinSizes(sizes, " x ") + " voxels: " + std::to_string(volumes) +
                         " volumes): SHMoAReg reads one 3-D volume; extract the one you want first");
  const bool flat = dimensions < 3 || sizes[0] <= 1 || sizes[1] <= 1 || sizes[2] <= 1;
  if (flat)
    throw ImageFileError("the " + description + " '" + path + "' is " +
                         (dimensions < 3 ? std::to_string(dimensions) : "2") + "-D (" + joinSizes(sizes, " x ") +
                         " voxels): SHMoAReg registers 3-D images");
  for (unsigned int a = 0; a < 3; ++a)
  {
    const double spacing = io->GetSpacing(a);
    if (!(spacing > 0.0) || !std::isfinite(spacing))
    {
      std::ostringstream text;
      text << "the " << description << " '" << path << "' has the voxel size " << io->GetSpacing(0) << " x "
           << io->GetSpacing(1) << " x " << io->GetSpacing(2) << " mm: every voxel size must be positive";
      throw ImageFileError(text.str());
    }
  }
  if (components == 3 && io->GetNumberOfComponents() != 3)
    throw ImageFileError("the " + description + " '" + path + "' is not a 3D displacement field (" +
                         std::to_string(io->GetNumberOfComponents()) + " values per voxel)");
  if (components == 1 && io->GetNumberOfComponents() != 1)
    throw ImageFileError("the " + description + " '" + path + "' has " + std::to_string(io->GetNumberOfComponents()) +
                         " values per voxel (" + io->GetPixelTypeAsString(io->GetPixelType()) +
                         "): a scalar image is needed");
  if (endsWith(path, ".nii") || endsWith(path, ".nii.gz"))
    checkNiftiData(path, description, contents);
  else if (endsWith(path, ".mha") || endsWith(path, ".mhd"))
    checkMetaImageData(path, description, io->GetImageSizeInBytes());
  return contents;
}

size_t
countNonFiniteVoxels(const itk::SHMoARegImageTypes::ImageType * image)
{
  const float * begin = image->GetBufferPointer();
  return static_cast<size_t>(std::count_if(
    begin, begin + image->GetBufferedRegion().GetNumberOfPixels(), [](float v) { return !std::isfinite(v); }));
}

size_t
replaceNonFiniteVoxels(itk::SHMoARegImageTypes::ImageType * image, float value)
{
  size_t replaced = 0;
  float * begin = image->GetBufferPointer();
  for (float * v = begin; v != begin + image->GetBufferedRegion().GetNumberOfPixels(); ++v)
    if (!std::isfinite(*v))
    {
      *v = value;
      ++replaced;
    }
  return replaced;
}

std::string
describeMissingContrast(const itk::SHMoARegImageTypes::ImageType * image)
{
  const float * begin = image->GetBufferPointer();
  const size_t n = image->GetBufferedRegion().GetNumberOfPixels();
  if (n == 0)
    return "empty";
  std::vector<float> values;
  values.reserve(n);
  std::copy_if(begin, begin + n, std::back_inserter(values), [](float v) { return std::isfinite(v); });
  if (values.empty())
    return "without a finite voxel";
  const auto [low, high] = std::minmax_element(values.begin(), values.end());
  std::ostringstream text;
  if (*low == *high)
  {
    text << "constant (every voxel " << *low << ")";
    return text.str();
  }
  // The percentiles of SHMoARegNetworkGrid::NormalizeIntensities.
  auto percentile = [&](double p) {
    const auto k = static_cast<size_t>(std::llround(p / 100.0 * static_cast<double>(values.size() - 1)));
    std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
    return values[k];
  };
  const float p05 = percentile(0.5);
  const float p995 = percentile(99.5);
  if (p05 == p995)
  {
    const auto equal = std::count(values.begin(), values.end(), p05);
    text << "nearly constant (" << std::fixed << std::setprecision(1)
         << 100.0 * static_cast<double>(equal) / static_cast<double>(values.size()) << " % of its voxels equal " << p05
         << ")";
  }
  return text.str();
}

} // namespace shmoareg::training
