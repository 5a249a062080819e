// shmoareg warp: applies a stack of displacement fields to an image, a label map or a point set.
#include "CliCommands.h"
#include "CommandLine.h"
#include "Dataset.h"

#include "itkCompositeTransform.h"
#include "itkDisplacementFieldTransform.h"
#include "itkImageFileReader.h"
#include "itkLabelImageGaussianInterpolateImageFunction.h"
#include "itkLinearInterpolateImageFunction.h"
#include "itkNearestNeighborInterpolateImageFunction.h"
#include "itkResampleImageFilter.h"

#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace shmoareg::cli {
namespace {
using TransformType = itk::CompositeTransform<double, 3>;
using RealFieldType = itk::Image<itk::Vector<double, 3>, 3>;

std::vector<std::string>
splitList(const std::string & list)
{
  std::vector<std::string> items;
  std::stringstream stream(list);
  for (std::string item; std::getline(stream, item, ',');)
    if (!item.empty())
      items.push_back(item);
  return items;
}

// ANTs' order: for --transform A,B a point p maps to A(B(p)), the last listed applied first.
TransformType::Pointer
readTransformStack(const std::string & list)
{
  auto composite = TransformType::New();
  for (const std::string & path : splitList(list))
  {
    itk::ImageIOBase::Pointer io =
      itk::ImageIOFactory::CreateImageIO(path.c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
    if (!io)
      throw std::runtime_error("cannot read the transform '" + path +
                               "': not an image format ITK reads (displacement fields only; affine transform "
                               "files are not supported yet)");
    io->SetFileName(path);
    io->ReadImageInformation();
    if (io->GetNumberOfDimensions() != 3 || io->GetNumberOfComponents() != 3)
      throw std::runtime_error("the transform '" + path + "' is not a 3D displacement field (" +
                               std::to_string(io->GetNumberOfDimensions()) + " dimensions, " +
                               std::to_string(io->GetNumberOfComponents()) + " components per voxel)");
    auto field = itk::ReadImage<RealFieldType>(path);
    auto transform = itk::DisplacementFieldTransform<double, 3>::New();
    transform->SetDisplacementField(field);
    composite->AddTransform(transform); // CompositeTransform applies the last added first
  }
  if (composite->GetNumberOfTransforms() == 0)
    throw UsageError("--transform names no file");
  return composite;
}

template <typename TPixel>
void
warpImage(const std::string & input,
          const itk::ImageBase<3> * reference,
          const TransformType * transform,
          const std::string & interpolation,
          const std::string & output)
{
  using ImageType = itk::Image<TPixel, 3>;
  const typename ImageType::Pointer image = itk::ReadImage<ImageType>(input);
  auto resample = itk::ResampleImageFilter<ImageType, ImageType>::New();
  resample->SetInput(image);
  resample->SetTransform(transform);
  resample->SetOutputParametersFromImage(reference);
  if (interpolation == "linear")
    resample->SetInterpolator(itk::LinearInterpolateImageFunction<ImageType, double>::New());
  else if (interpolation == "nearest")
    resample->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<ImageType, double>::New());
  else // label: Gaussian-weighted vote per label (no new values), for smooth boundaries
    resample->SetInterpolator(itk::LabelImageGaussianInterpolateImageFunction<ImageType, double>::New());
  resample->Update();
  AtomicOutputs outputs;
  outputs.write(resample->GetOutput(), output);
  outputs.commit();
}

void
warpPoints(const std::string & input, const TransformType * transform, const std::string & output)
{
  std::ifstream in(input);
  if (!in)
    throw std::runtime_error("cannot read the point file '" + input + "'");
  std::ostringstream out;
  out << std::setprecision(9);
  std::string line;
  size_t lineNumber = 0, points = 0;
  while (std::getline(in, line))
  {
    ++lineNumber;
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (line.empty())
      continue;
    const std::vector<std::string> fields = [&] {
      std::vector<std::string> f;
      std::stringstream s(line);
      for (std::string item; std::getline(s, item, ',');)
        f.push_back(item);
      return f;
    }();
    if (lineNumber == 1 && !fields.empty() && fields[0].find_first_of("xX") != std::string::npos)
    {
      out << line << "\n"; // the header row
      continue;
    }
    itk::Point<double, 3> p;
    bool ok = fields.size() >= 3;
    for (unsigned int a = 0; ok && a < 3; ++a)
    {
      char * end = nullptr;
      p[a] = std::strtod(fields[a].c_str(), &end);
      ok = end != fields[a].c_str() && *end == '\0' && std::isfinite(p[a]);
    }
    if (!ok)
      throw std::runtime_error("'" + input + "' line " + std::to_string(lineNumber) +
                               ": expected x,y,z physical coordinates (mm), got '" + line + "'");
    const itk::Point<double, 3> q = transform->TransformPoint(p);
    out << q[0] << "," << q[1] << "," << q[2];
    for (size_t extra = 3; extra < fields.size(); ++extra)
      out << "," << fields[extra]; // further columns (ids, labels) are kept
    out << "\n";
    ++points;
  }
  AtomicOutputs outputs;
  outputs.writeText(out.str(), output);
  outputs.commit();
  std::cout << "mapped " << points << " points to " << output << "\n";
}

template <typename TPixel>
bool
tryWarpLabels(itk::IOComponentEnum component,
              itk::IOComponentEnum wanted,
              const std::string & input,
              const itk::ImageBase<3> * reference,
              const TransformType * transform,
              const std::string & interpolation,
              const std::string & output)
{
  if (component != wanted)
    return false;
  warpImage<TPixel>(input, reference, transform, interpolation, output);
  return true;
}
} // namespace

int
warpCommand(int argc, char * argv[])
{
  ArgumentParser args("warp",
                      "Applies displacement fields (ITK's convention, e.g. register's field) to an image, a label "
                      "map or points.");
  args.option("input", "IMAGE", "image or label map to warp");
  args.option("reference", "IMAGE", "the output grid (for a registration's field: the fixed image)");
  args.option("transform", "F1[,F2...]", "displacement fields; the last listed is applied to a point first (ANTs)");
  args.option("interpolation",
              "linear|nearest|label",
              "linear (default for images) or nearest/label, which keep "
              "the label map's pixel type and values");
  args.option("output", "FILE", "the warped image");
  args.option("points", "CSV", "points to map instead: x,y,z physical (LPS, mm) per row, optional header");
  args.option("output-points", "CSV", "the mapped points (x + u(x) through the stack; further columns kept)");
  if (!args.parse(argc, argv, 2))
    return 0;
  args.require({ "transform" });
  training::ensureImageIO();
  const TransformType::Pointer transform = readTransformStack(args.get("transform"));
  if (args.has("points") || args.has("output-points"))
  {
    args.require({ "points", "output-points" });
    warpPoints(args.get("points"), transform, args.get("output-points"));
    if (!args.has("input"))
      return 0;
  }
  args.require({ "input", "reference", "output" });
  const std::string interpolation = args.get("interpolation", "linear");
  if (interpolation != "linear" && interpolation != "nearest" && interpolation != "label")
    throw UsageError("--interpolation must be linear, nearest or label");
  itk::ImageIOBase::Pointer referenceIO =
    itk::ImageIOFactory::CreateImageIO(args.get("reference").c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
  if (!referenceIO)
    throw std::runtime_error("cannot read the reference image '" + args.get("reference") + "'");
  using GridType = itk::Image<unsigned char, 3>;
  auto gridReader = itk::ImageFileReader<GridType>::New();
  gridReader->SetFileName(args.get("reference"));
  gridReader->UpdateOutputInformation();
  const GridType * reference = gridReader->GetOutput();

  if (interpolation == "linear")
  {
    warpImage<float>(args.get("input"), reference, transform, interpolation, args.get("output"));
  }
  else
  {
    // A label map keeps its pixel type; its values must be integers (checked as for training).
    training::readLabelMap(args.get("input"));
    itk::ImageIOBase::Pointer io =
      itk::ImageIOFactory::CreateImageIO(args.get("input").c_str(), itk::ImageIOFactory::IOFileModeEnum::ReadMode);
    io->SetFileName(args.get("input"));
    io->ReadImageInformation();
    const auto c = io->GetComponentType();
    using C = itk::IOComponentEnum;
    const auto & in = args.get("input");
    const auto & out = args.get("output");
    if (!(tryWarpLabels<unsigned char>(c, C::UCHAR, in, reference, transform, interpolation, out) ||
          tryWarpLabels<char>(c, C::CHAR, in, reference, transform, interpolation, out) ||
          tryWarpLabels<unsigned short>(c, C::USHORT, in, reference, transform, interpolation, out) ||
          tryWarpLabels<short>(c, C::SHORT, in, reference, transform, interpolation, out) ||
          tryWarpLabels<unsigned int>(c, C::UINT, in, reference, transform, interpolation, out) ||
          tryWarpLabels<int>(c, C::INT, in, reference, transform, interpolation, out)))
      // Integer values stored as float (checked above): written as float.
      warpImage<float>(in, reference, transform, "nearest", out);
  }
  std::cout << "wrote " << args.get("output") << "\n";
  return 0;
}

} // namespace shmoareg::cli
