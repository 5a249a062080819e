// shmoareg warp: applies a stack of displacement fields to an image, a label map or a point set.
#include "CliCommands.h"
#include "CommandLine.h"
#include "Dataset.h"
#include "ImageFiles.h"
#include "PointFiles.h"
#include "TransformFiles.h"

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

// Commas separate the files, except inside ANTs' "[file,1]".
std::vector<std::string>
splitList(const std::string & list)
{
  std::vector<std::string> items;
  std::string item;
  int depth = 0;
  for (const char c : list)
  {
    depth += c == '[' ? 1 : c == ']' ? -1 : 0;
    if (c == ',' && depth == 0)
    {
      if (!item.empty())
        items.push_back(item);
      item.clear();
    }
    else
      item += c;
  }
  if (!item.empty())
    items.push_back(item);
  return items;
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
  const typename ImageType::Pointer image = training::readImageFile<ImageType>(input, "input image");
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
warpPoints(const std::string & input,
           const TransformType * transform,
           const std::string & output,
           std::ostream & results)
{
  const PointFile points = readPointCsv(input);
  std::ostringstream out;
  out << std::setprecision(9);
  if (!points.header.empty())
    out << points.header << "\n";
  for (const PointRow & row : points.rows)
  {
    const itk::Point<double, 3> q = transform->TransformPoint(row.point);
    out << q[0] << "," << q[1] << "," << q[2] << row.extraColumns << "\n"; // further columns (ids, labels) kept
  }
  AtomicOutputs outputs;
  outputs.writeText(out.str(), output);
  outputs.commit();
  results << "mapped " << points.rows.size() << " points to " << output << "\n";
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
                      "Applies transforms (ITK's convention, e.g. register's field or composite .h5) to an image, "
                      "a label map or points.");
  args.option("input", "IMAGE", "image or label map to warp");
  args.option("reference", "IMAGE", "the output grid (for a registration's field: the fixed image)");
  args.option("transform",
              "T1[,T2...]",
              "displacement fields or ITK transform files (.h5, .mat, .txt; [file,1] inverts an affine); "
              "in antsApplyTransforms' order: -t A -t B maps a point p to B(A(p))");
  args.option("interpolation",
              "linear|nearest|label",
              "linear (default for images) or nearest/label, which keep "
              "the label map's pixel type and values",
              ValueCheck::oneOf({ "linear", "nearest", "label" }));
  args.option("output", "FILE", "the warped image");
  args.option("points", "CSV", "points to map instead: x,y,z physical (LPS, mm) per row, optional header");
  args.option("output-points", "CSV", "the mapped points (x + u(x) through the stack; further columns kept)");
  if (!args.parse(argc, argv, 2))
    return 0;
  args.require({ "transform" });
  training::ensureImageIO();
  const std::vector<std::string> transformFiles = splitList(args.get("transform"));
  if (transformFiles.empty())
    throw UsageError("--transform names no file");
  std::vector<std::string> inputs = transformFiles;
  for (const char * option : { "input", "reference", "points" })
    if (args.has(option))
      inputs.push_back(args.get(option));
  checkOutputFiles({ { "--output", args.get("output", "") }, { "--output-points", args.get("output-points", "") } },
                   inputs);
  const TransformType::Pointer transform = readTransformStack(transformFiles, "transform");
  if (args.has("points") || args.has("output-points"))
  {
    args.require({ "points", "output-points" });
    warpPoints(args.get("points"), transform, args.get("output-points"), args.results());
    if (!args.has("input"))
      return 0;
  }
  args.require({ "input", "reference", "output" });
  const std::string interpolation = args.get("interpolation", "linear");
  training::checkImageFile(args.get("reference"), "reference image", 0);
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
    training::readLabelMap(args.get("input"), "input label map");
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
  args.results() << "wrote " << args.get("output") << "\n";
  return 0;
}

} // namespace shmoareg::cli
