// The shmoareg command line. Subcommands so far:
//   presets   every preset with its configuration and parameter count
//   forward   run a network once on a fixed / moving pair resampled onto the network grid
#include "itkSHMoARegModel.h"

#include "itkImageFileReader.h"
#include "itkSHMoARegImageIO.h"
#include "itkResampleImageFilter.h"

#include <algorithm>
#include <chrono>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

namespace {
using ImageType = itk::SHMoARegModel::NetworkImageType;

class UsageError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// --key value pairs after the subcommand; flags listed in `allowed` only.
std::map<std::string, std::string>
parseOptions(int argc, char * argv[], int first, const std::vector<std::string> & allowed)
{
  std::map<std::string, std::string> options;
  for (int i = first; i < argc; ++i)
  {
    const std::string key = argv[i];
    if (key == "--help" || key == "-h")
    {
      options["help"] = "1";
      continue;
    }
    if (key.rfind("--", 0) != 0 || std::find(allowed.begin(), allowed.end(), key.substr(2)) == allowed.end())
      throw UsageError("unknown argument '" + key + "'");
    if (i + 1 >= argc)
      throw UsageError("argument '" + key + "' needs a value");
    options[key.substr(2)] = argv[++i];
  }
  return options;
}

int
parseInt(const std::string & text, const std::string & what)
{
  try
  {
    size_t used = 0;
    const int value = std::stoi(text, &used);
    if (used == text.size())
      return value;
  }
  catch (const std::exception &)
  {}
  throw UsageError(what + " must be an integer, got '" + text + "'");
}

// "128" or "96x112x96" (i x j x k).
ImageType::SizeType
parseGridSize(const std::string & text)
{
  ImageType::SizeType size;
  std::vector<std::string> parts;
  std::stringstream stream(text);
  for (std::string part; std::getline(stream, part, 'x');)
    parts.push_back(part);
  if (parts.size() != 1 && parts.size() != 3)
    throw UsageError("--size must be N or NxNxN, got '" + text + "'");
  for (unsigned int a = 0; a < 3; ++a)
  {
    const int n = parseInt(parts[parts.size() == 1 ? 0 : a], "--size");
    if (n < 8 || n > 1024)
      throw UsageError("--size entries must be in [8, 1024]");
    size[a] = static_cast<itk::SizeValueType>(n);
  }
  return size;
}

ImageType::Pointer
readImage(const std::string & fileName)
{
  auto reader = itk::ImageFileReader<ImageType>::New();
  reader->SetFileName(fileName);
  reader->Update();
  return reader->GetOutput();
}

// The network grid: `size` voxels covering the physical extent of `reference` (voxel edges to
// voxel edges), with its direction.
ImageType::Pointer
resampleOntoNetworkGrid(const ImageType * image, const ImageType * reference, const ImageType::SizeType & size)
{
  const auto referenceSize = reference->GetLargestPossibleRegion().GetSize();
  ImageType::SpacingType spacing;
  itk::Vector<double, 3> halfShift;
  for (unsigned int a = 0; a < 3; ++a)
  {
    spacing[a] = reference->GetSpacing()[a] * static_cast<double>(referenceSize[a]) / static_cast<double>(size[a]);
    halfShift[a] = 0.5 * (spacing[a] - reference->GetSpacing()[a]);
  }
  const ImageType::PointType origin = reference->GetOrigin() + reference->GetDirection() * halfShift;
  auto resample = itk::ResampleImageFilter<ImageType, ImageType>::New();
  resample->SetInput(image);
  resample->SetSize(size);
  resample->SetOutputSpacing(spacing);
  resample->SetOutputOrigin(origin);
  resample->SetOutputDirection(reference->GetDirection());
  resample->SetDefaultPixelValue(0);
  resample->Update();
  return resample->GetOutput();
}

// Intensities to [0, 1] between the 0.5 and 99.5 percentiles, clipped.
void
normalizeIntensities(ImageType * image)
{
  float * begin = image->GetBufferPointer();
  const size_t n = image->GetBufferedRegion().GetNumberOfPixels();
  std::vector<float> sorted(begin, begin + n);
  std::sort(sorted.begin(), sorted.end());
  const float low = sorted[static_cast<size_t>(0.005 * (n - 1))];
  const float high = sorted[static_cast<size_t>(0.995 * (n - 1))];
  const float range = high > low ? high - low : 1.0f;
  std::transform(begin, begin + n, begin, [&](float v) { return std::min(1.0f, std::max(0.0f, (v - low) / range)); });
}

itk::SHMoARegModel::Pointer
makeModel(const std::map<std::string, std::string> & options)
{
  auto model = itk::SHMoARegModel::New();
  if (options.count("device"))
    model->SetDevice(options.at("device"));
  if (options.count("threads"))
    model->SetNumberOfThreads(parseInt(options.at("threads"), "--threads"));
  if (options.count("model"))
    model->LoadFromFile(options.at("model"));
  else
    model->CreateFromPreset(options.count("preset") ? options.at("preset") : "SHMoAReg");
  return model;
}

int
presetsCommand(int argc, char * argv[])
{
  const auto options = parseOptions(argc, argv, 2, {});
  if (options.count("help"))
  {
    std::cout << "usage: shmoareg presets\n  Prints every preset with its parameter count.\n";
    return 0;
  }
  std::cout << "| preset | parameters | parameters (M) |\n|---|---:|---:|\n";
  for (const auto & name : itk::SHMoARegModel::GetPresetNames())
  {
    auto model = itk::SHMoARegModel::New();
    model->SetDevice("cpu");
    model->CreateFromPreset(name);
    std::cout << "| " << name << " | " << model->GetNumberOfParameters() << " | " << std::fixed << std::setprecision(2)
              << model->GetNumberOfParameters() / 1e6 << " |\n";
  }
  std::cout << "| TransMorph-small (reference, Chen et al. 2022) | 11760000 | 11.76 |\n";
  return 0;
}

int
forwardCommand(int argc, char * argv[])
{
  const auto options =
    parseOptions(argc, argv, 2, { "fixed", "moving", "preset", "model", "size", "device", "threads" });
  if (options.count("help"))
  {
    std::cout << "usage: shmoareg forward --fixed F --moving M [--preset NAME | --model FILE]\n"
                 "                        [--size N|NxNxN] [--device auto|cpu|cuda] [--threads N]\n"
                 "  Resamples both images onto the network grid (N^3 voxels covering the fixed image),\n"
                 "  runs the network once and prints the preset, parameter count, shapes and time.\n";
    return 0;
  }
  if (!options.count("fixed") || !options.count("moving"))
    throw UsageError("forward needs --fixed and --moving");
  const ImageType::SizeType size = parseGridSize(options.count("size") ? options.at("size") : "128");

  auto model = makeModel(options);
  const auto fixed = readImage(options.at("fixed"));
  const auto moving = readImage(options.at("moving"));
  const auto start = std::chrono::steady_clock::now();
  auto fixedGrid = resampleOntoNetworkGrid(fixed, fixed, size);
  auto movingGrid = resampleOntoNetworkGrid(moving, fixed, size);
  normalizeIntensities(fixedGrid);
  normalizeIntensities(movingGrid);
  const double preprocessing = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto prediction = model->Predict(fixedGrid, movingGrid);

  std::cout << "preset:        " << model->GetPresetName() << "\n"
            << "parameters:    " << model->GetNumberOfParameters() << "\n"
            << "device:        " << model->GetDevice() << "\n"
            << "fixed image:   " << options.at("fixed") << " size " << fixed->GetLargestPossibleRegion().GetSize()
            << " spacing " << fixed->GetSpacing() << "\n"
            << "network grid:  " << size << " spacing " << fixedGrid->GetSpacing() << "\n"
            << "displacement:  " << prediction.VoxelDisplacement->GetLargestPossibleRegion().GetSize()
            << " x 3 components (voxels)\n"
            << "expert maps:   " << prediction.ExpertMaps.size() << " (one per direction)\n"
            << std::fixed << std::setprecision(3) << "preprocessing: " << preprocessing << " s\n"
            << "network time:  " << prediction.Seconds << " s\n";
  return 0;
}

void
printUsage(std::ostream & out)
{
  out << "usage: shmoareg <command> [options]\n"
         "commands:\n"
         "  presets   list the network presets and their parameter counts\n"
         "  forward   run a network once on an image pair (see shmoareg forward --help)\n";
}
} // namespace

int
main(int argc, char * argv[])
{
  itk::SHMoARegRegisterImageIO();
  if (argc < 2)
  {
    printUsage(std::cerr);
    return 2;
  }
  const std::string command = argv[1];
  try
  {
    if (command == "presets")
      return presetsCommand(argc, argv);
    if (command == "forward")
      return forwardCommand(argc, argv);
    if (command == "--help" || command == "-h" || command == "help")
    {
      printUsage(std::cout);
      return 0;
    }
    throw UsageError("unknown command '" + command + "'");
  }
  catch (const UsageError & error)
  {
    std::cerr << "shmoareg: " << error.what() << "\n";
    printUsage(std::cerr);
    return 2;
  }
  catch (const itk::ExceptionObject & error)
  {
    std::cerr << "shmoareg: error: " << error.GetDescription() << "\n";
    return 1;
  }
  catch (const std::exception & error)
  {
    std::cerr << "shmoareg: error: " << error.what() << "\n";
    return 1;
  }
}
