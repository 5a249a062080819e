// The shmoareg command line: register, render, warp, score, train, evaluate, synthesize, export,
// plot-training, info, presets, forward.
#include "CliCommands.h"
#include "CommandLine.h"
#include "ErrorMessage.h"
#include "Evaluation.h"
#include "ImageFiles.h"
#include "PairList.h"
#include "AffinePreAlignment.h"
#include "RegistrationFigure.h"
#include "SyntheticDataset.h"
#include "TransformFiles.h"
#include "Trainer.h"
#include "VtkImageConversion.h"

#include "itkJacobianDeterminantFoldingImageFilter.h"
#include <vtkDataArray.h>
#include <vtkPointData.h>

#include "itkCommand.h"
#include "itkImageFileReader.h"
#include "itkSHMoARegImageGrid.h"
#include "itkSHMoARegImageIO.h"
#include "itkSHMoARegistrationFilter.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace {
using namespace shmoareg;
using cli::ArgumentParser;
using cli::UsageError;
using ImageType = itk::Image<float, 3>;
using LabelImageType = training::LabelImageType;

// The default model shipped in the repository (models/), when no --model is given.
std::string
defaultModelPath()
{
  if (const char * fromEnvironment = std::getenv("SHMOAREG_DEFAULT_MODEL"))
    return fromEnvironment;
  return SHMOAREG_DEFAULT_MODEL;
}

void
addModelOptions(ArgumentParser & args)
{
  args.option("model", "FILE", "model file (default: $SHMOAREG_DEFAULT_MODEL or the shipped model)");
  args.option("preset", "NAME", "an untrained network of this preset instead of a model file");
  args.option("device", "auto|cpu|cuda", "where the network runs (default auto)");
  args.option("threads", "N", "LibTorch threads (default: LibTorch's)");
}

itk::SHMoARegModel::Pointer
makeModel(const ArgumentParser & args)
{
  auto model = itk::SHMoARegModel::New();
  model->SetDevice(args.get("device", "auto"));
  if (args.has("threads"))
    model->SetNumberOfThreads(args.getInt("threads", 0));
  if (args.has("preset") && args.has("model"))
    throw UsageError("give --model or --preset, not both");
  if (args.has("preset"))
  {
    model->CreateFromPreset(args.get("preset"));
    return model;
  }
  const std::string path = args.get("model", defaultModelPath());
  if (!args.has("model") && !std::filesystem::exists(path))
    throw UsageError("no --model given and the default model '" + path + "' does not exist");
  model->LoadFromFile(path);
  return model;
}

template <typename TImage>
typename TImage::Pointer
readImageAs(const std::string & path, const char * what)
{
  return training::readImageFile<TImage>(path, what);
}

// A displacement field file: 3 dimensions, 3 components per voxel, else an error naming it.
training::DisplacementFieldType::Pointer
readDisplacementField(const std::string & path, const char * what)
{
  return training::readImageFile<training::DisplacementFieldType>(path, what, 3);
}

void
addInitialTransformOption(ArgumentParser & args)
{
  args.option("initial-transform",
              "T",
              "an ITK transform file (.mat, .txt, .h5: affine, rigid, composite) or a displacement field, "
              "fixed -> moving, applied before the network and composed into the outputs");
}

// --initial-transform's transform, or null without one.
cli::TransformType::Pointer
readInitialTransform(const ArgumentParser & args)
{
  return args.has("initial-transform") ? cli::readTransform(args.get("initial-transform"), "initial transform")
                                       : cli::TransformType::Pointer();
}

ImageType::Pointer
readImage(const std::string & path, const char * what)
{
  return readImageAs<ImageType>(path, (std::string(what) + " image").c_str());
}

// The images of a registration, read and checked as register and render share them: labels
// on their image's grid, no NaN or infinite voxel unless --replace-non-finite replaces them,
// and a warning for an image without contrast.
struct RegistrationInputs
{
  ImageType::Pointer fixed;
  ImageType::Pointer moving;
  LabelImageType::Pointer fixedLabels;
  LabelImageType::Pointer movingLabels;
  size_t fixedNonFiniteReplaced = 0;
  size_t movingNonFiniteReplaced = 0;
  std::vector<std::string> warnings;
};

void
addInputCheckOptions(ArgumentParser & args)
{
  args.option("replace-non-finite",
              "VALUE",
              "replace NaN and infinite voxels of the fixed and moving images by VALUE (default: refuse such images)");
}

RegistrationInputs
readRegistrationInputs(const ArgumentParser & args)
{
  RegistrationInputs inputs;
  auto readChecked = [&](const char * which, size_t & replaced) {
    const std::string path = args.get(which);
    const std::string name = std::string("the ") + which + " image '" + path + "'";
    ImageType::Pointer image = readImage(path, which);
    const size_t nonFinite = training::countNonFiniteVoxels(image);
    if (nonFinite > 0)
    {
      if (!args.has("replace-non-finite"))
        throw std::runtime_error(name + " has " + std::to_string(nonFinite) + " NaN or infinite voxel" +
                                 (nonFinite == 1 ? "" : "s") + " (of " +
                                 std::to_string(image->GetLargestPossibleRegion().GetNumberOfPixels()) +
                                 "): repair it, or give --replace-non-finite VALUE");
      const double value = args.getDouble("replace-non-finite", 0.0);
      if (!std::isfinite(value))
        throw UsageError("--replace-non-finite must be a finite number");
      replaced = training::replaceNonFiniteVoxels(image, static_cast<float>(value));
      std::cout << "replaced " << replaced << " NaN or infinite voxel" << (replaced == 1 ? "" : "s") << " of " << name
                << " by " << value << "\n";
    }
    const std::string contrast = training::describeMissingContrast(image);
    if (!contrast.empty())
    {
      inputs.warnings.push_back(name + " is " + contrast + ": there is nothing to align, the field is meaningless");
      std::cerr << "shmoareg: warning: " << inputs.warnings.back() << "\n";
    }
    return image;
  };
  inputs.fixed = readChecked("fixed", inputs.fixedNonFiniteReplaced);
  inputs.moving = readChecked("moving", inputs.movingNonFiniteReplaced);
  auto readLabels = [&](const char * which, const ImageType * image) {
    const std::string option = std::string(which) + "-labels";
    if (!args.has(option))
      return LabelImageType::Pointer();
    const std::string path = args.get(option);
    LabelImageType::Pointer labels = training::readLabelMap(path, std::string(which) + " label map");
    const std::string difference = itk::SHMoARegImageGrid::DescribeGridDifference<3>(labels, image);
    if (!difference.empty())
      throw std::runtime_error(std::string("the ") + which + " label map '" + path + "' does not lie on the " + which +
                               " image's grid (labels vs image: " + difference +
                               "): a label map must share its image's voxel grid");
    return labels;
  };
  inputs.fixedLabels = readLabels("fixed", inputs.fixed);
  inputs.movingLabels = readLabels("moving", inputs.moving);
  return inputs;
}

// Every file a registration reads, for checkOutputFiles.
std::vector<std::string>
registrationInputPaths(const ArgumentParser & args)
{
  std::vector<std::string> paths;
  for (const char * option : { "fixed",
                               "moving",
                               "fixed-labels",
                               "moving-labels",
                               "fixed-mask",
                               "moving-mask",
                               "initial-transform",
                               "model" })
    if (args.has(option))
      paths.push_back(args.get(option));
  if (!args.has("model") && !args.has("preset"))
    paths.push_back(defaultModelPath());
  return paths;
}

// The network grid (register, render, evaluate) and the box it covers (register, render).
void
addNetworkGridOptions(ArgumentParser & args, bool withFieldOfView)
{
  args.option("grid", "N", "network grid voxels per axis (default: the model's training voxel size; 128 for a preset)");
  if (withFieldOfView)
    args.option("network-fov",
                "X,Y,Z|image",
                "the box (mm) the network grid covers, centred on the fixed image (default: the model's training "
                "field of view, else the whole image; image: the whole image)");
}

// The network's passes and the refinement after it (docs/results.md): register and render
// share these.
void
addRefinementOptions(ArgumentParser & args)
{
  args.option("network-passes",
              "N",
              "passes of the network over the pair: each further pass registers the moving image "
              "warped so far, and the fields are composed (default 1)");
  args.option("refinement",
              "fast|accurate|none",
              "multi-level refinement after the network on the fixed image's grid (default fast; none: the "
              "network alone)");
  args.option("io-iterations",
              "N|auto",
              "the refinement's iterations per level, or auto: stop each level when "
              "the loss stops improving");
  args.option("io-levels",
              "S:N,...",
              "the refinement's levels, coarse to fine: voxel scale S (times the fixed image's smallest "
              "voxel, >= 1) and iterations N each, e.g. 4:80,2:60,1:30 (default: the named setting's)");
  args.option("io-smoothing-passes", "N", "3^3 averaging filters on the field each iteration (default 2)");
  args.option("io-learning-rate", "STEP", "the refinement's Adam step, in voxels of each level (default 0.5)");
  args.option("io-smoothness", "W", "the refinement's diffusion weight (default: fast 2, accurate 4)");
  args.option("io-folding", "W", "the refinement's folding penalty weight (default: fast 1, accurate 10)");
  args.option("io-similarity", "ncc|mind|mse", "the refinement's similarity (default ncc: local NCC)");
  args.flag("refine-from-identity", "skip the network: refine from the identity (to measure the network's part)");
}

// "4:80,2:60,1:30": voxel scale and iterations of each level, coarse to fine.
std::vector<itk::SHMoARegModel::RefinementLevel>
parseRefinementLevels(const std::string & text)
{
  std::vector<itk::SHMoARegModel::RefinementLevel> levels;
  std::stringstream items(text);
  std::string item;
  while (std::getline(items, item, ','))
  {
    const auto colon = item.find(':');
    double scale = 0.0;
    long iterations = -1;
    try
    {
      size_t used = 0;
      scale = std::stod(item.substr(0, colon), &used);
      if (colon == std::string::npos || used != colon)
        throw std::invalid_argument(item);
      iterations = std::stol(item.substr(colon + 1), &used);
      if (used != item.size() - colon - 1)
        throw std::invalid_argument(item);
    }
    catch (const std::exception &)
    {
      throw UsageError("--io-levels: '" + item + "' is not SCALE:ITERATIONS (e.g. 4:80,2:60,1:30)");
    }
    if (!(scale >= 1.0) || iterations < 0)
      throw UsageError("--io-levels: '" + item + "' needs a voxel scale >= 1 and iterations >= 0");
    levels.push_back({ scale, static_cast<unsigned int>(iterations) });
  }
  if (levels.empty())
    throw UsageError("--io-levels needs at least one level, e.g. 4:80,2:60,1:30");
  return levels;
}

using RegistrationFilterType =
  itk::SHMoARegistrationFilter<ImageType, ImageType, itk::Image<itk::Vector<float, 3>, 3>, LabelImageType>;

// The registration that register and render share: --grid and --device from `args`. Without
// --grid the filter picks the grid from the model's training voxel size (128^3 for a preset).
RegistrationFilterType::Pointer
registerPair(const ArgumentParser & args,
             itk::SHMoARegModel * model,
             const ImageType * fixed,
             const ImageType * moving,
             const LabelImageType * movingLabels,
             bool inverse = false,
             const cli::TransformType * initialTransform = nullptr)
{
  auto filter = RegistrationFilterType::New();
  // A line per refinement level as it ends (the filter's IterationEvent).
  auto printLevel = itk::CStyleCommand::New();
  printLevel->SetCallback([](itk::Object * caller, const itk::EventObject &, void *) {
    const auto * registration = static_cast<const RegistrationFilterType *>(caller);
    const auto & report = registration->GetRefinementReport();
    const auto & level = report.back();
    const auto flags = std::cout.flags();
    const auto precision = std::cout.precision();
    std::cout << "refinement level " << report.size() << "/" << registration->GetRefinementSettings().Levels.size()
              << ": " << level.GridSize[0] << " x " << level.GridSize[1] << " x " << level.GridSize[2] << " voxels of "
              << std::fixed << std::setprecision(2) << level.Spacing[0] << " x " << level.Spacing[1] << " x "
              << level.Spacing[2] << " mm, " << level.Iterations << " iterations, loss " << std::setprecision(4)
              << level.FirstLoss << " -> " << level.FinalLoss << ", " << std::setprecision(2) << level.Seconds << " s"
              << std::endl;
    std::cout.flags(flags);
    std::cout.precision(precision);
  });
  filter->AddObserver(itk::IterationEvent(), printLevel);
  filter->SetComputeInverseDisplacementField(inverse);
  filter->SetUseExactInverse(!args.has("fixed-point-inverse"));
  filter->SetModel(model);
  filter->SetDevice(args.get("device", "auto"));
  filter->SetFixedImage(fixed);
  filter->SetMovingImage(moving);
  if (movingLabels)
    filter->SetMovingLabelImage(movingLabels);
  if (initialTransform)
    filter->SetInitialTransform(initialTransform);
  using MaskType = RegistrationFilterType::MaskImageType;
  if (args.has("fixed-mask"))
    filter->SetFixedMask(readImageAs<MaskType>(args.get("fixed-mask"), "fixed mask"));
  if (args.has("moving-mask"))
    filter->SetMovingMask(readImageAs<MaskType>(args.get("moving-mask"), "moving mask"));
  // The refinement: a named setting, then any budget or weight given explicitly.
  RegistrationFilterType::RefinementSettingsType refinement;
  try
  {
    refinement = itk::SHMoARegModel::GetRefinementPreset(args.get("refinement", "fast"));
  }
  catch (const itk::ExceptionObject & error)
  {
    throw UsageError(std::string("--refinement: ") + error.GetDescription());
  }
  if (args.has("io-iterations"))
  {
    if (refinement.Levels.empty())
      throw UsageError("--io-iterations sets the refinement's budget: it needs --refinement fast or accurate");
    if (args.get("io-iterations") == "auto")
      refinement.AutoStop = true; // each level's iterations stay its cap
    else
    {
      const int iterations = args.getInt("io-iterations", 0);
      if (iterations < 0)
        throw UsageError("--io-iterations must be a number of iterations per level (>= 0) or auto");
      for (auto & level : refinement.Levels)
        level.Iterations = static_cast<unsigned int>(iterations);
    }
  }
  if (args.has("io-levels"))
  {
    if (refinement.Levels.empty())
      throw UsageError("--io-levels sets the refinement's levels: it needs --refinement fast or accurate");
    refinement.Levels = parseRefinementLevels(args.get("io-levels"));
  }
  if (args.has("io-smoothing-passes"))
  {
    const int passes = args.getInt("io-smoothing-passes", -1);
    if (passes < 0)
      throw UsageError("--io-smoothing-passes must be 0 or more");
    refinement.SmoothingPasses = static_cast<unsigned int>(passes);
  }
  if (args.has("io-learning-rate"))
    refinement.LearningRate = args.getDouble("io-learning-rate", 0.0);
  if (args.has("io-smoothness"))
    refinement.SmoothnessWeight = args.getDouble("io-smoothness", 0.0);
  if (args.has("io-folding"))
    refinement.FoldingWeight = args.getDouble("io-folding", 0.0);
  if (args.has("io-similarity"))
    refinement.Similarity = args.get("io-similarity");
  if (refinement.LearningRate <= 0.0 || refinement.SmoothnessWeight < 0.0 || refinement.FoldingWeight < 0.0)
    throw UsageError("--io-learning-rate must be > 0, --io-smoothness and --io-folding >= 0");
  if (refinement.Similarity != "ncc" && refinement.Similarity != "mind" && refinement.Similarity != "mse")
    throw UsageError("--io-similarity must be ncc, mind or mse, got '" + refinement.Similarity + "'");
  if (args.has("network-passes"))
  {
    const int passes = args.getInt("network-passes", 0);
    if (passes < 1)
      throw UsageError("--network-passes must be 1 or more");
    filter->SetNumberOfNetworkPasses(static_cast<unsigned int>(passes));
  }
  filter->SetRefinementSettings(refinement);
  filter->SetStartFromIdentity(args.has("refine-from-identity"));
  if (args.has("refine-from-identity") && refinement.Levels.empty())
    throw UsageError("--refine-from-identity needs --refinement fast or accurate");
  if (args.has("grid"))
  {
    const int size = args.getInt("grid", 0);
    if (size <= 0)
      throw UsageError("--grid must be a positive voxel count");
    RegistrationFilterType::GridSizeType grid;
    grid.Fill(static_cast<itk::SizeValueType>(size));
    filter->SetNetworkGridSize(grid);
  }
  if (args.has("network-fov"))
  {
    // "image": the fixed image's whole extent; else X,Y,Z mm, a box centred on it.
    const std::string value = args.get("network-fov");
    if (value == "image")
      filter->NetworkGridOverWholeImageOn();
    else
    {
      std::istringstream items(value);
      std::string item;
      RegistrationFilterType::SpacingType box;
      unsigned int axes = 0;
      const auto refuse = [&value] {
        return UsageError("--network-fov must be 'image' or three sizes in mm, X,Y,Z (e.g. 144,180,144); got '" +
                          value + "'");
      };
      while (std::getline(items, item, ','))
      {
        char * end = nullptr;
        const double mm = std::strtod(item.c_str(), &end);
        if (axes >= 3 || item.empty() || *end != '\0' || !(mm > 0.0) || !std::isfinite(mm))
          throw refuse();
        box[axes++] = mm;
      }
      if (axes != 3)
        throw refuse();
      filter->SetNetworkFieldOfView(box);
    }
  }
  filter->Update();
  return filter;
}

// One registration: `args` names its inputs and outputs; loadModel gives the model (loaded once
// for a whole --pairs run). Returns the metrics (Dice, ASSD, folding with labels) and seconds.
nlohmann::json
registerOnePair(const ArgumentParser & args, const std::function<itk::SHMoARegModel *()> & loadModel)
{
  args.require({ "fixed", "moving" });
  nlohmann::json result = nlohmann::json::object();
  // ANTs' naming under --output-prefix P; an explicit flag names its own file.
  const std::string prefix = args.get("output-prefix", "");
  auto outputPath = [&](const std::string & flag, const std::string & antsName, bool wanted) {
    return args.has(flag) ? args.get(flag) : (!prefix.empty() && wanted ? prefix + antsName : std::string());
  };
  auto prefixPath = [&](const std::string & antsName) { return prefix.empty() ? std::string() : prefix + antsName; };
  const std::string fieldPath = args.get("output-field", "");
  const std::string inversePath = args.get("output-inverse-field", "");
  const std::string warpedPath = outputPath("output-warped", "Warped.nii.gz", true);
  const std::string labelsPath = outputPath("output-warped-labels", "WarpedLabels.nii.gz", args.has("moving-labels"));
  const std::string metricsPath = outputPath("output-metrics", "Metrics.json", args.has("fixed-labels"));
  const std::string transformPath = outputPath("output-transform", "Composite.h5", true);
  const std::string inverseTransformPath = outputPath("output-inverse-transform", "InverseComposite.h5", true);
  const std::vector<cli::OutputFile> outputFiles{ { "--output-field", fieldPath },
                                                  { "--output-warped", warpedPath },
                                                  { "--output-warped-labels", labelsPath },
                                                  { "--output-inverse-field", inversePath },
                                                  { "--output-metrics", metricsPath },
                                                  { "--output-transform", transformPath },
                                                  { "--output-inverse-transform", inverseTransformPath },
                                                  { "--output-prefix", prefixPath("0GenericAffine.mat") },
                                                  { "--output-prefix", prefixPath("1Warp.nii.gz") },
                                                  { "--output-prefix", prefixPath("1InverseWarp.nii.gz") } };
  if (std::all_of(outputFiles.begin(), outputFiles.end(), [](const cli::OutputFile & f) { return f.path.empty(); }))
    throw UsageError("give an output: --output-prefix, --output-field, --output-warped, --output-transform, ...");
  if (args.has("output-warped-labels") && !args.has("moving-labels"))
    throw UsageError("--output-warped-labels needs --moving-labels");
  if (args.has("fixed-labels") != args.has("moving-labels") && !args.has("output-warped-labels"))
    throw UsageError("Dice and ASSD need both --fixed-labels and --moving-labels");
  if (args.has("output-metrics") && !args.has("fixed-labels"))
    throw UsageError("--output-metrics needs --fixed-labels and --moving-labels");
  if (args.has("affine") && args.has("initial-transform"))
    throw UsageError("give --affine or --initial-transform, not both");
  cli::checkOutputFiles(outputFiles, registrationInputPaths(args));

  itk::SHMoARegModel * model = loadModel();
  const RegistrationInputs inputs = readRegistrationInputs(args);
  const ImageType::Pointer fixed = inputs.fixed;
  const ImageType::Pointer moving = inputs.moving;
  const LabelImageType::Pointer movingLabels = inputs.movingLabels;
  const LabelImageType::Pointer fixedLabels = inputs.fixedLabels;
  const auto fixedMask = args.has("fixed-mask")
                           ? readImageAs<training::MaskImageType>(args.get("fixed-mask"), "fixed mask")
                           : training::MaskImageType::Pointer();
  cli::TransformType::Pointer initial = readInitialTransform(args);
  const auto start = std::chrono::steady_clock::now();
  double affineSeconds = 0.0;
  if (args.has("affine"))
  {
    std::cout << "affine pre-alignment (ITK ImageRegistrationMethodv4, Mattes MI)\n";
    const cli::AffinePreAlignmentResult affine = cli::affinePreAlignment(fixed, moving, std::cout);
    affineSeconds = affine.seconds;
    std::cout << "  " << affine.iterations << " iterations in " << std::fixed << std::setprecision(2) << affine.seconds
              << " s\n";
    initial = affine.transform.GetPointer();
  }
  // With a linear initial transform A the outputs follow ANTs: x -> A(x + w(x)), A in
  // P0GenericAffine.mat and the deformable part w in P1Warp; the full field (--output-field) is
  // x + u(x) = A(x + w(x)).
  const cli::LinearTransformType * linear = cli::asLinearTransform(initial);
  const bool totalInverseNeeded =
    !inversePath.empty() || (!linear && (!prefix.empty() || !inverseTransformPath.empty()));
  const auto filter = registerPair(args, model, fixed, moving, movingLabels, totalInverseNeeded, initial);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::cout << "registered with " << model->GetPresetName() << " (" << model->GetNumberOfParameters()
            << " parameters) on " << model->GetDevice() << ", network grid " << filter->GetUsedNetworkGridSize()
            << std::fixed << std::setprecision(0) << " over " << filter->GetUsedNetworkFieldOfView() << " mm"
            << ", in " << std::setprecision(2) << seconds << " s (network "
            << filter->GetMoEDisplacementFieldSource()->GetNetworkSeconds() << " s, refinement "
            << filter->GetRefinementSeconds() << " s)\n";
  nlohmann::json refinementLevels = nlohmann::json::array();
  for (size_t l = 0; l < filter->GetRefinementReport().size(); ++l)
  {
    const auto & level = filter->GetRefinementReport()[l];
    refinementLevels.push_back({ { "size", { level.GridSize[0], level.GridSize[1], level.GridSize[2] } },
                                 { "spacing_mm", { level.Spacing[0], level.Spacing[1], level.Spacing[2] } },
                                 { "iterations", level.Iterations },
                                 { "first_loss", level.FirstLoss },
                                 { "final_loss", level.FinalLoss },
                                 { "seconds", level.Seconds } });
  }
  if (totalInverseNeeded)
    std::cout << "inverse field on the moving grid ("
              << (filter->GetInverseIsExact() ? "exact: the diffeomorphic model's negated velocities"
                                              : "fixed-point iteration")
              << "): residual |u(y + v(y)) + v(y)| mean " << filter->GetInverseMeanResidual() << " mm, max "
              << filter->GetInverseMaximumResidual() << " mm\n";

  // The deformable part and its inverse (ANTs' P1Warp / P1InverseWarp) and the composite
  // transforms, each direction stated in docs/training.md.
  using FieldType = RegistrationFilterType::DisplacementFieldType;
  FieldType::Pointer deformable = filter->GetDisplacementField();
  FieldType::Pointer deformableInverse = filter->GetInverseDisplacementField();
  auto forward = cli::CompositeTransformType::New();
  auto backward = cli::CompositeTransformType::New();
  cli::LinearTransformType::Pointer affineOut;
  if (linear)
  {
    affineOut = cli::toAffineTransform(linear);
    deformable = cli::removeLinearPart(filter->GetDisplacementField(), linear);
    forward->AddTransform(affineOut); // applied second
    forward->AddTransform(cli::makeFieldTransform(deformable));
    if (!prefix.empty() || !inverseTransformPath.empty())
    {
      double residual = 0.0;
      deformableInverse = cli::invertDisplacementField(deformable, residual);
      std::cout << "inverse of the deformable part on the fixed grid: max residual " << residual << " mm\n";
      backward->AddTransform(cli::makeFieldTransform(deformableInverse)); // applied second
      backward->AddTransform(affineOut->GetInverseTransform());
    }
  }
  else
  {
    forward->AddTransform(cli::makeFieldTransform(filter->GetDisplacementField()));
    if (totalInverseNeeded)
      backward->AddTransform(cli::makeFieldTransform(filter->GetInverseDisplacementField()));
  }

  cli::AtomicOutputs outputs;
  std::vector<std::string> written;
  auto writeImage = [&](const auto * image, const std::string & path) {
    if (path.empty())
      return;
    outputs.write(image, path);
    written.push_back(path);
  };
  auto writeTransform = [&](const itk::TransformBaseTemplate<double> * transform, const std::string & path) {
    if (path.empty())
      return;
    outputs.writeTransform(transform, path);
    written.push_back(path);
  };
  writeImage(filter->GetDisplacementField(), fieldPath);
  writeImage(filter->GetWarpedImage(), warpedPath);
  if (!labelsPath.empty())
    writeImage(filter->GetWarpedLabelImage(), labelsPath);
  if (!inversePath.empty())
    writeImage(filter->GetInverseDisplacementField(), inversePath);
  if (!prefix.empty())
  {
    if (affineOut)
      writeTransform(affineOut, prefixPath("0GenericAffine.mat"));
    writeImage(deformable.GetPointer(), prefixPath("1Warp.nii.gz"));
    writeImage(deformableInverse.GetPointer(), prefixPath("1InverseWarp.nii.gz"));
  }
  writeTransform(forward, transformPath);
  writeTransform(backward, inverseTransformPath);
  std::string metricsJson;
  if (fixedLabels)
  {
    const training::PairScore before = training::scoreRegistration(fixedLabels, movingLabels, nullptr, fixedMask);
    const training::PairScore after =
      training::scoreRegistration(fixedLabels, movingLabels, filter->GetDisplacementField(), fixedMask);
    std::cout << std::setprecision(4) << "Dice " << before.dice << " -> " << after.dice << ", ASSD " << before.assd
              << " -> " << after.assd << " mm, folding (det J <= 0) " << after.folding << " %, " << std::setprecision(2)
              << seconds << " s\n";
    const nlohmann::json metrics = { { "model", model->GetPresetName() },
                                     { "dice_before", before.dice },
                                     { "dice", after.dice },
                                     { "assd_mm_before", before.assd },
                                     { "assd_mm", after.assd },
                                     { "folding_percent", after.folding },
                                     { "within_fixed_mask", static_cast<bool>(fixedMask) },
                                     { "network_grid",
                                       { filter->GetUsedNetworkGridSize()[0],
                                         filter->GetUsedNetworkGridSize()[1],
                                         filter->GetUsedNetworkGridSize()[2] } },
                                     { "network_field_of_view_mm",
                                       { filter->GetUsedNetworkFieldOfView()[0],
                                         filter->GetUsedNetworkFieldOfView()[1],
                                         filter->GetUsedNetworkFieldOfView()[2] } },
                                     { "affine_seconds", affineSeconds },
                                     { "refinement", args.get("refinement", "fast") },
                                     { "refinement_levels", refinementLevels },
                                     { "refinement_seconds", filter->GetRefinementSeconds() },
                                     { "non_finite_voxels_replaced",
                                       { { "fixed", inputs.fixedNonFiniteReplaced },
                                         { "moving", inputs.movingNonFiniteReplaced } } },
                                     { "warnings", inputs.warnings },
                                     { "seconds", seconds } };
    metricsJson = metrics.dump(2) + "\n";
    result = metrics;
  }
  if (!metricsPath.empty())
  {
    outputs.writeText(metricsJson, metricsPath);
    written.push_back(metricsPath);
  }
  outputs.commit();
  std::cout << "wrote";
  for (const auto & path : written)
    std::cout << " " << path;
  std::cout << "\n";
  result["seconds"] = seconds;
  return result;
}

// shmoareg register --pairs PAIRS.csv --output-dir DIR [--shard I/N]: one model load for every
// pair of the list (or of this shard), each pair's outputs under DIR/PREFIX/ with ANTs' names and
// a Done.json written last; a pair whose Done.json exists is skipped (a rerun finishes what an
// interrupted one left); a failed pair is reported and the rest go on; a summary CSV and JSON of
// every pair of the shard. Exit 1 if any pair failed.
int
registerPairList(const ArgumentParser & args)
{
  if (!args.has("pairs") || !args.has("output-dir"))
    throw UsageError("--pairs and --output-dir go together (--shard needs both)");
  for (const char * option : { "fixed",
                               "moving",
                               "moving-labels",
                               "fixed-labels",
                               "fixed-mask",
                               "moving-mask",
                               "output-field",
                               "output-warped",
                               "output-inverse-field",
                               "output-prefix",
                               "output-warped-labels",
                               "output-metrics",
                               "output-transform",
                               "output-inverse-transform" })
    if (args.has(option))
      throw UsageError(std::string("--") + option +
                       " names one pair's file: with --pairs the list's columns give the inputs and each pair's "
                       "outputs go to DIR/PREFIX/");
  cli::Shard shard;
  if (args.has("shard"))
  {
    try
    {
      shard = cli::parseShard(args.get("shard"));
    }
    catch (const std::invalid_argument & error)
    {
      throw UsageError(error.what());
    }
  }
  // What each pair writes: the full field and the warped image (and labels and metrics when the
  // list has labels) unless --pair-outputs says otherwise.
  std::set<std::string> wanted;
  {
    std::stringstream list(args.get("pair-outputs", "field,warped,labels,metrics"));
    for (std::string item; std::getline(list, item, ',');)
    {
      const std::set<std::string> known{ "field", "warped", "labels", "metrics", "inverse", "transforms", "ants" };
      if (!known.count(item))
        throw UsageError("--pair-outputs takes field, warped, labels, metrics, inverse, transforms and ants, got '" +
                         item + "'");
      wanted.insert(item);
    }
    if (wanted.empty() || (wanted.size() == 1 && wanted.count("metrics")))
      throw UsageError("--pair-outputs needs an image or transform output (field, warped, labels, inverse, "
                       "transforms or ants)");
  }
  const std::vector<cli::PairEntry> pairs = cli::readPairList(args.get("pairs"));
  const std::filesystem::path folder = args.get("output-dir");
  std::filesystem::create_directories(folder);
  std::vector<const cli::PairEntry *> mine;
  for (size_t i = 0; i < pairs.size(); ++i)
    if (shard.contains(i))
      mine.push_back(&pairs[i]);
  const std::string suffix =
    shard.count > 1 ? "-shard-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count) : "";

  itk::SHMoARegModel::Pointer model;
  const auto loadModel = [&]() {
    if (!model)
      model = makeModel(args);
    return model.GetPointer();
  };
  nlohmann::json rows = nlohmann::json::array();
  size_t failed = 0, registered = 0;
  double registrationSeconds = 0.0;
  for (size_t k = 0; k < mine.size(); ++k)
  {
    const cli::PairEntry & pair = *mine[k];
    const std::filesystem::path pairFolder = folder / pair.name;
    const std::string done = (pairFolder / "Done.json").string();
    const std::string counter = "[" + std::to_string(k + 1) + "/" + std::to_string(mine.size()) + "] " + pair.name;
    nlohmann::json row = { { "name", pair.name }, { "fixed", pair.fixed }, { "moving", pair.moving } };
    if (std::filesystem::exists(done))
    {
      std::ifstream in(done);
      row = nlohmann::json::parse(in, nullptr, false);
      if (!row.is_discarded())
      {
        row["status"] = "done earlier";
        rows.push_back(row);
        std::cout << counter << ": complete (" << done << "), skipped" << std::endl;
        continue;
      }
      row = { { "name", pair.name }, { "fixed", pair.fixed }, { "moving", pair.moving } }; // unreadable: redo
    }
    std::cout << counter << ": " << pair.fixed << " <- " << pair.moving << std::endl;
    ArgumentParser pairArgs = args;
    for (const char * option : { "pairs", "output-dir", "shard" })
      pairArgs.unset(option);
    pairArgs.unset("pair-outputs");
    pairArgs.set("fixed", pair.fixed);
    pairArgs.set("moving", pair.moving);
    const auto in = [&](const char * name) { return (pairFolder / name).string(); };
    if (wanted.count("field"))
      pairArgs.set("output-field", in("Field.nii.gz"));
    if (wanted.count("warped"))
      pairArgs.set("output-warped", in("Warped.nii.gz"));
    if (wanted.count("inverse"))
      pairArgs.set("output-inverse-field", in("InverseField.nii.gz"));
    if (wanted.count("transforms"))
    {
      pairArgs.set("output-transform", in("Composite.h5"));
      pairArgs.set("output-inverse-transform", in("InverseComposite.h5"));
    }
    if (wanted.count("ants"))
      pairArgs.set("output-prefix", (pairFolder / "").string());
    if (!pair.movingLabels.empty() && (wanted.count("labels") || wanted.count("metrics")))
      pairArgs.set("moving-labels", pair.movingLabels);
    if (!pair.movingLabels.empty() && wanted.count("labels"))
      pairArgs.set("output-warped-labels", in("WarpedLabels.nii.gz"));
    if (!pair.fixedLabels.empty() && !pair.movingLabels.empty() && wanted.count("metrics"))
    {
      pairArgs.set("fixed-labels", pair.fixedLabels);
      pairArgs.set("output-metrics", in("Metrics.json"));
    }
    if (!pair.fixedMask.empty())
      pairArgs.set("fixed-mask", pair.fixedMask);
    if (!pair.movingMask.empty())
      pairArgs.set("moving-mask", pair.movingMask);
    try
    {
      std::filesystem::create_directories(pairFolder);
      const nlohmann::json metrics = registerOnePair(pairArgs, loadModel);
      for (const char * key : { "seconds", "dice_before", "dice", "assd_mm_before", "assd_mm", "folding_percent" })
        if (metrics.contains(key))
          row[key] = metrics[key];
      row["status"] = "ok";
      cli::AtomicOutputs marker;
      marker.writeText(row.dump(2) + "\n", done);
      marker.commit();
      ++registered;
      registrationSeconds += metrics.value("seconds", 0.0);
    }
    catch (const itk::ExceptionObject & error)
    {
      row["status"] = "failed";
      row["error"] = error.GetDescription();
    }
    catch (const std::exception & error)
    {
      row["status"] = "failed";
      row["error"] = messageWithoutTrace(error);
    }
    if (row["status"] == "failed" && std::filesystem::is_empty(pairFolder))
      std::filesystem::remove(pairFolder); // nothing was written for it
    rows.push_back(row);
    std::ostringstream line;
    line << counter << ": " << row["status"].get<std::string>();
    if (row["status"] == "failed")
    {
      ++failed;
      line << ": " << row["error"].get<std::string>();
      std::cerr << "shmoareg: " << pair.name << " failed: " << row["error"].get<std::string>() << "\n";
    }
    else
    {
      line << std::fixed << std::setprecision(2) << " in " << row["seconds"].get<double>() << " s";
      if (row.contains("dice"))
        line << ", Dice " << std::setprecision(3) << row["dice_before"].get<double>() << " -> "
             << row["dice"].get<double>();
    }
    const size_t left = mine.size() - k - 1;
    if (registered > 0 && left > 0)
    {
      const auto eta = static_cast<long>(registrationSeconds / registered * left + 0.5);
      line << "; ETA " << eta / 3600 << ":" << std::setw(2) << std::setfill('0') << eta / 60 % 60 << ":" << std::setw(2)
           << eta % 60;
    }
    std::cout << line.str() << std::endl;
  }

  // The summary of this run's pairs (this shard's, when sharded).
  const std::vector<std::string> columns{ "name",    "fixed",           "moving", "status",
                                          "seconds", "dice_before",     "dice",   "assd_mm_before",
                                          "assd_mm", "folding_percent", "error" };
  std::ostringstream csv;
  csv << std::setprecision(9);
  for (size_t c = 0; c < columns.size(); ++c)
    csv << (c ? "," : "") << columns[c];
  csv << "\n";
  for (const auto & row : rows)
  {
    for (size_t c = 0; c < columns.size(); ++c)
    {
      csv << (c ? "," : "");
      if (!row.contains(columns[c]))
        continue;
      const nlohmann::json & value = row[columns[c]];
      if (value.is_number())
        csv << value.get<double>();
      else
      {
        std::string text = value.get<std::string>(), quoted;
        for (const char ch : text)
          quoted += ch == '"' ? std::string("\"\"") : std::string(1, ch);
        csv << '"' << quoted << '"';
      }
    }
    csv << "\n";
  }
  const nlohmann::json summary = { { "pairs_in_list", pairs.size() },
                                   { "shard", { { "index", shard.index }, { "count", shard.count } } },
                                   { "registered", registered },
                                   { "failed", failed },
                                   { "done_earlier", rows.size() - registered - failed },
                                   { "pairs", rows } };
  cli::AtomicOutputs outputs;
  const std::string csvPath = (folder / ("summary" + suffix + ".csv")).string();
  const std::string jsonPath = (folder / ("summary" + suffix + ".json")).string();
  outputs.writeText(csv.str(), csvPath);
  outputs.writeText(summary.dump(2) + "\n", jsonPath);
  outputs.commit();
  std::cout << registered << " registered, " << failed << " failed, " << rows.size() - registered - failed
            << " done earlier, of " << mine.size() << " pairs" << (shard.count > 1 ? " in this shard" : "")
            << "; summary: " << csvPath << ", " << jsonPath << "\n";
  return failed ? 1 : 0;
}
int
registerCommand(int argc, char * argv[])
{
  ArgumentParser args("register", "Registers a moving image to a fixed image (any format ITK reads).");
  args.option("fixed", "IMAGE", "fixed image");
  args.option("moving", "IMAGE", "moving image");
  args.option("output-field", "FILE", "displacement field: ITK's physical convention on the fixed grid (mm)");
  args.option("output-warped", "FILE", "moving image warped onto the fixed grid");
  args.option("output-inverse-field", "FILE", "inverse field on the moving grid (moving -> fixed, mm)");
  args.option("output-prefix",
              "P",
              "ANTs' names (docs/training.md): P0GenericAffine.mat (with an affine), P1Warp.nii.gz, "
              "P1InverseWarp.nii.gz, PComposite.h5, PInverseComposite.h5, PWarped.nii.gz, "
              "PWarpedLabels.nii.gz, PMetrics.json");
  args.option("moving-labels", "IMAGE", "moving label map (integer values)");
  args.option("output-warped-labels", "FILE", "moving labels warped onto the fixed grid (nearest neighbour)");
  args.option("fixed-labels", "IMAGE", "fixed label map: with --moving-labels, prints Dice, ASSD and folding");
  args.option("output-metrics", "FILE.json", "the metrics summary (Dice, ASSD, folding, time) as JSON");
  addNetworkGridOptions(args, /*withFieldOfView=*/true);
  addRefinementOptions(args);
  addInitialTransformOption(args);
  args.flag("affine",
            "affine pre-alignment first (ITK ImageRegistrationMethodv4, Mattes MI, 3 levels), for pairs "
            "that are not pre-aligned");
  args.option("output-transform", "FILE.h5", "composite ITK transform, fixed -> moving (initial/affine + field)");
  args.option("output-inverse-transform", "FILE.h5", "composite ITK transform, moving -> fixed");
  args.flag("fixed-point-inverse",
            "invert by fixed-point iteration even for a diffeomorphic model (default: its exact inverse)");
  args.option("fixed-mask",
              "IMAGE",
              "fixed mask (non-zero inside): restricts instance optimisation's similarity and the metrics");
  args.option("moving-mask", "IMAGE", "moving mask (non-zero inside): restricts instance optimisation's similarity");
  args.option("pairs",
              "PAIRS.csv",
              "register every row (columns fixed,moving[,moving_labels,fixed_labels,fixed_mask,moving_mask,prefix]) "
              "with one model load; outputs under --output-dir");
  args.option("output-dir", "DIR", "with --pairs: each pair's outputs (ANTs' names) in DIR/PREFIX/, and a summary");
  args.option("shard", "I/N", "with --pairs: only every N-th pair starting at pair I (0-based), e.g. a job array's");
  args.option("pair-outputs",
              "LIST",
              "with --pairs: what each pair writes in DIR/PREFIX/, of field (Field.nii.gz), warped, labels, "
              "metrics, inverse, transforms (Composite.h5, InverseComposite.h5), ants (ANTs' set); default "
              "field,warped,labels,metrics");
  addInputCheckOptions(args);
  addModelOptions(args);
  if (!args.parse(argc, argv, 2))
    return 0;
  if (args.has("pairs") || args.has("output-dir") || args.has("shard") || args.has("pair-outputs"))
    return registerPairList(args);
  itk::SHMoARegModel::Pointer model;
  registerOnePair(args, [&]() {
    if (!model)
      model = makeModel(args);
    return model.GetPointer();
  });
  return 0;
}

int
trainCommand(int argc, char * argv[])
{
  ArgumentParser args("train", "Trains a network; flags override the JSON configuration.");
  args.option("config", "FILE", "JSON configuration (docs/training.md lists the fields)");
  args.option("preset", "NAME", "network preset (VM, TM, 2casVM, 2casTM, Pyramid, SHMoAReg, SHMoAReg_diff)");
  args.option("data", "DATA", "synthetic | MANIFEST.json|.csv | oasis:FOLDER | btcv:FOLDER");
  args.option("iterations", "N", "iterations in total");
  args.option("lr", "RATE", "Adam learning rate (default 1e-4)");
  args.option("lambda-r", "W", "smoothness weight (default 0.01)");
  args.option("lambda-rc", "W", "routing-classification weight (default 0.001)");
  args.option("similarity", "mse|ncc", "similarity loss (default mse)");
  args.option("validation-interval", "N", "iterations between validations");
  args.option("checkpoint-interval", "N", "iterations between checkpoints");
  args.option("grid", "N", "network grid size per axis");
  args.option("output", "FOLDER", "where the log, checkpoints and model go");
  args.option("seed", "N", "random seed");
  args.option("threads", "N", "LibTorch threads");
  args.option("device", "cpu|cuda|auto", "where to train (default cpu)");
  args.flag("resume", "continue exactly from OUTPUT/checkpoint.pt");
  args.option("pairs-per-iteration", "N", "pairs whose gradients are averaged per iteration (default 1; per rank)");
  args.option("world-size", "N", "processes training together (default: $WORLD_SIZE, else 1)");
  args.option("rank", "R", "this process's rank, 0 to N-1 (default: $RANK)");
  args.option("master-addr", "HOST", "rank 0's address (default: $MASTER_ADDR, else 127.0.0.1)");
  args.option("master-port", "PORT", "rank 0's store port (default: $MASTER_PORT, else 29500)");
  args.option("distributed-timeout", "SECONDS", "how long a rank waits for the others before stopping (default 300)");
  if (!args.parse(argc, argv, 2))
    return 0;
  training::TrainingOptions options;
  training::DistributedSettings distributed;
  try
  {
    if (args.has("config"))
      options = training::readTrainingOptions(args.get("config"));
    nlohmann::json overrides = nlohmann::json::object();
    const std::vector<std::pair<std::string, std::string>> strings{ { "preset", "preset" },
                                                                    { "data", "data" },
                                                                    { "similarity", "similarity" },
                                                                    { "output", "output" },
                                                                    { "device", "device" } };
    for (const auto & s : strings)
      if (args.has(s.first))
        overrides[s.second] = args.get(s.first);
    const std::vector<std::pair<std::string, std::string>> integers{ { "iterations", "iterations" },
                                                                     { "validation-interval", "validation_interval" },
                                                                     { "checkpoint-interval", "checkpoint_interval" },
                                                                     { "grid", "grid" },
                                                                     { "seed", "seed" },
                                                                     { "threads", "threads" },
                                                                     { "pairs-per-iteration", "pairs_per_iteration" } };
    for (const auto & s : integers)
      if (args.has(s.first))
        overrides[s.second] = args.getInt(s.first, 0);
    const std::vector<std::pair<std::string, std::string>> numbers{ { "lr", "learning_rate" },
                                                                    { "lambda-r", "lambda_r" },
                                                                    { "lambda-rc", "lambda_rc" } };
    for (const auto & s : numbers)
      if (args.has(s.first))
        overrides[s.second] = args.getDouble(s.first, 0.0);
    training::applyTrainingOptions(overrides, options);
    // torchrun's (or Slurm's) environment, then the flags over it.
    distributed = training::distributedSettingsFromEnvironment();
    if (args.has("world-size"))
      distributed.worldSize = args.getInt("world-size", 1);
    if (args.has("rank"))
      distributed.rank = args.getInt("rank", 0);
    if (args.has("master-addr"))
      distributed.masterAddress = args.get("master-addr");
    if (args.has("master-port"))
      distributed.masterPort = args.getInt("master-port", 0);
    if (args.has("distributed-timeout"))
      distributed.timeoutSeconds = args.getDouble("distributed-timeout", 0.0);
    training::checkDistributedSettings(distributed);
  }
  catch (const std::invalid_argument & error)
  {
    throw UsageError(error.what());
  }
  const training::TrainingResult result = training::train(options, args.has("resume"), std::cout, distributed);
  return result.interrupted ? 130 : 0;
}

int
evaluateCommand(int argc, char * argv[])
{
  ArgumentParser args("evaluate", "Registers every ordered test pair and prints the paper's Table I columns.");
  args.option("config", "FILE", "a training configuration: its data and synthetic options");
  args.option("data", "DATA", "synthetic | MANIFEST.json|.csv | oasis:FOLDER | btcv:FOLDER");
  addNetworkGridOptions(args, /*withFieldOfView=*/false);
  args.option("csv", "FILE", "also write the per-pair scores as CSV");
  args.option("scratch", "FOLDER", "where synthetic data are generated (default: the configuration's output)");
  args.flag("no-identity", "leave out the identity (initial) row");
  addModelOptions(args);
  if (!args.parse(argc, argv, 2))
    return 0;
  if (!args.has("data") && !args.has("config"))
    throw UsageError("'evaluate' needs --data or --config");
  training::TrainingOptions options;
  try
  {
    if (args.has("config"))
      options = training::readTrainingOptions(args.get("config"));
  }
  catch (const std::invalid_argument & error)
  {
    throw UsageError(error.what());
  }
  auto model = makeModel(args);
  const training::DatasetManifest manifest =
    training::resolveDataset(args.get("data", options.data), options.synthetic, args.get("scratch", options.output));
  const int grid = args.getInt("grid", 0);
  if (args.has("grid") && grid <= 0)
    throw UsageError("--grid must be a positive voxel count");
  std::vector<training::MethodScores> methods;
  if (!args.has("no-identity"))
    methods.push_back(training::evaluateOnTestPairs("Initial", nullptr, manifest, grid, std::cerr));
  methods.push_back(training::evaluateOnTestPairs(model->GetPresetName(), model, manifest, grid, std::cerr));
  std::cout << training::scoresToMarkdown(methods) << "\n";
  const std::string csv = training::scoresToCsv(methods);
  if (args.has("csv"))
  {
    cli::AtomicOutputs outputs;
    outputs.writeText(csv, args.get("csv"));
    outputs.commit();
  }
  else
  {
    std::cout << csv;
  }
  return 0;
}

int
scoreCommand(int argc, char * argv[])
{
  ArgumentParser args("score",
                      "Scores a displacement field from any tool (ITK's convention: on the fixed grid, x -> x + u(x) "
                      "in mm): warps the moving labels (nearest neighbour) and prints one CSV row: method, pair, "
                      "Dice, ASSD (mm), % det J <= 0, seconds, and the end-point error (mm) against a synthetic "
                      "pair's known field when its transforms are given (empty otherwise).");
  args.option("fixed-labels", "IMAGE", "fixed label map");
  args.option("moving-labels", "IMAGE", "moving label map");
  args.option("field", "FILE", "displacement field (without it: the labels as they lie, the identity)");
  args.option("fixed-mask", "IMAGE", "fixed mask (non-zero inside): only voxels inside it are scored");
  args.option("method", "NAME", "first CSV column (default: field)");
  args.option("pair", "ID", "second CSV column (default: empty)");
  args.option("seconds", "S", "registration time to copy into the row (default 0)");
  args.option("fixed-to-atlas",
              "FILE",
              "the fixed subject's known field to the atlas (synthesize --known-fields: ID_to_atlas.nii.gz)");
  args.option("moving-from-atlas",
              "FILE",
              "the moving subject's known field from the atlas (ID_from_atlas.nii.gz): with --fixed-to-atlas, "
              "the end-point error over the fixed labels");
  args.flag("header", "print the CSV header first");
  if (!args.parse(argc, argv, 2))
    return 0;
  args.require({ "fixed-labels", "moving-labels" });
  if (args.has("fixed-to-atlas") != args.has("moving-from-atlas"))
    throw UsageError("--fixed-to-atlas and --moving-from-atlas go together (the pair's known field)");
  const auto fixedLabels = training::readLabelMap(args.get("fixed-labels"));
  const auto movingLabels = training::readLabelMap(args.get("moving-labels"));
  training::DisplacementFieldType::Pointer field;
  if (args.has("field"))
    field = readDisplacementField(args.get("field"), "displacement field");
  const auto fixedMask = args.has("fixed-mask")
                           ? readImageAs<training::MaskImageType>(args.get("fixed-mask"), "fixed mask")
                           : training::MaskImageType::Pointer();
  const training::PairScore score = training::scoreRegistration(fixedLabels, movingLabels, field, fixedMask);
  std::string endPointError;
  if (args.has("fixed-to-atlas"))
  {
    const auto toAtlas = readDisplacementField(args.get("fixed-to-atlas"), "fixed subject's field to the atlas");
    const auto fromAtlas =
      readDisplacementField(args.get("moving-from-atlas"), "moving subject's field from the atlas");
    std::ostringstream text;
    text << std::setprecision(6) << training::endPointError(fixedLabels, field, toAtlas, fromAtlas);
    endPointError = text.str();
  }
  if (args.has("header"))
    std::cout << "method,pair,dice,assd_mm,folding_percent,seconds,epe_mm\n";
  std::cout << args.get("method", args.has("field") ? "field" : "identity") << "," << args.get("pair", "") << ","
            << std::setprecision(6) << score.dice << "," << score.assd << "," << score.folding << ","
            << args.getDouble("seconds", 0.0) << "," << endPointError << "\n";
  return 0;
}

int
exportCommand(int argc, char * argv[])
{
  ArgumentParser args("export",
                      "Writes a model file alone (weights, configuration, provenance; no optimiser state), e.g. "
                      "from a training checkpoint.pt.");
  args.option("model", "FILE", "model or checkpoint file");
  args.option("output", "FILE", "the model file to write (atomically)");
  if (!args.parse(argc, argv, 2))
    return 0;
  args.require({ "model", "output" });
  auto model = itk::SHMoARegModel::New();
  model->LoadFromFile(args.get("model"));
  model->SaveToFile(args.get("output"));
  std::cout << "wrote " << args.get("output") << " (" << model->GetPresetName() << ", "
            << model->GetNumberOfParameters() << " parameters, " << std::filesystem::file_size(args.get("output"))
            << " bytes)\n";
  return 0;
}

int
synthesizeCommand(int argc, char * argv[])
{
  ArgumentParser args("synthesize",
                      "Writes subjects of the built-in synthetic Colin27 dataset (images, AAL labels, manifest.json).");
  args.option("config", "FILE", "a training configuration: its synthetic options");
  args.option("output", "FOLDER", "where the subjects and manifest.json go");
  args.option("train", "N", "train subjects (default 0)");
  args.option("val", "N", "validation subjects (default 0)");
  args.option("test", "N", "test subjects (default 4)");
  args.option("seed", "N", "dataset seed (default: the configuration's, else 1)");
  args.flag("anisotropic", "3 x 3 x 2 mm subjects");
  args.flag("known-fields",
            "also write each subject's known transform: ID_to_atlas.nii.gz and ID_from_atlas.nii.gz (for "
            "score's end-point error)");
  if (!args.parse(argc, argv, 2))
    return 0;
  args.require({ "output" });
  training::SyntheticDatasetOptions synthetic;
  try
  {
    if (args.has("config"))
      synthetic = training::readTrainingOptions(args.get("config")).synthetic;
  }
  catch (const std::invalid_argument & error)
  {
    throw UsageError(error.what());
  }
  auto count = [&](const char * name, int fallback) {
    const int n = args.getInt(name, fallback);
    if (n < 0)
      throw UsageError(std::string("--") + name + " must not be negative");
    return static_cast<size_t>(n);
  };
  synthetic.train = count("train", 0);
  synthetic.val = count("val", 0);
  synthetic.test = count("test", 4);
  if (args.has("seed"))
    synthetic.seed = static_cast<uint64_t>(args.getInt("seed", 1));
  if (args.has("anisotropic"))
    synthetic.anisotropic = true;
  const training::DatasetManifest manifest =
    training::writeSyntheticDataset(synthetic, args.get("output"), args.has("known-fields"));
  std::cout << "wrote " << manifest.subjects.size() << " subjects of '" << manifest.name << "' to "
            << args.get("output") << "/manifest.json\n";
  return 0;
}

int
renderCommand(int argc, char * argv[])
{
  ArgumentParser args("render",
                      "Registers a pair and renders one PNG figure: slices with label contours, the "
                      "deformed grid, the Jacobian and the expert maps; optionally .vti files for ParaView.");
  args.option("fixed", "IMAGE", "fixed image");
  args.option("moving", "IMAGE", "moving image");
  args.option("fixed-labels", "IMAGE", "fixed label map (contours)");
  args.option("moving-labels", "IMAGE", "moving label map (contours, warped)");
  args.option("output", "FILE.png", "the figure");
  args.option("vti-prefix", "PREFIX", "also write PREFIX_field.vti, PREFIX_jacobian.vti, PREFIX_experts.vti");
  addNetworkGridOptions(args, /*withFieldOfView=*/true);
  addRefinementOptions(args);
  addInitialTransformOption(args);
  args.option("fixed-mask", "IMAGE", "fixed mask (non-zero inside): restricts instance optimisation's similarity");
  args.option("moving-mask", "IMAGE", "moving mask (non-zero inside): restricts instance optimisation's similarity");
  args.option("panel", "PIXELS", "panel size (default 160)");
  addInputCheckOptions(args);
  addModelOptions(args);
  if (!args.parse(argc, argv, 2))
    return 0;
  args.require({ "fixed", "moving", "output" });
  const std::string vtiPrefix = args.get("vti-prefix", "");
  cli::checkOutputFiles({ { "--output", args.get("output") },
                          { "--vti-prefix", vtiPrefix.empty() ? "" : vtiPrefix + "_field.vti" },
                          { "--vti-prefix", vtiPrefix.empty() ? "" : vtiPrefix + "_jacobian.vti" },
                          { "--vti-prefix", vtiPrefix.empty() ? "" : vtiPrefix + "_experts.vti" } },
                        registrationInputPaths(args));
  auto model = makeModel(args);
  const RegistrationInputs registrationInputs = readRegistrationInputs(args);
  const ImageType::Pointer fixed = registrationInputs.fixed;
  const ImageType::Pointer moving = registrationInputs.moving;
  const LabelImageType::Pointer fixedLabels = registrationInputs.fixedLabels;
  const LabelImageType::Pointer movingLabels = registrationInputs.movingLabels;
  const auto filter = registerPair(args, model, fixed, moving, movingLabels, false, readInitialTransform(args));

  visualization::RegistrationFigureInputs inputs;
  inputs.fixed = fixed;
  inputs.moving = moving;
  inputs.warped = filter->GetWarpedImage();
  inputs.field = filter->GetDisplacementField();
  inputs.fixedLabels = fixedLabels;
  inputs.movingLabels = movingLabels;
  inputs.warpedLabels = movingLabels ? filter->GetWarpedLabelImage() : nullptr;
  auto * source = filter->GetMoEDisplacementFieldSource();
  if (model->HasExpertMaps())
    for (unsigned d = 0; d < 3; ++d)
      inputs.expertMaps.push_back(source->GetExpertMap(d));
  visualization::FigureOptions options;
  options.panelSize = args.getInt("panel", 160);
  visualization::writePng(visualization::renderRegistrationFigure(inputs, options), args.get("output"));
  std::cout << "wrote " << args.get("output") << "\n";
  if (args.has("vti-prefix"))
  {
    const std::string prefix = args.get("vti-prefix");
    visualization::writeVti(visualization::toVtkImageData(filter->GetDisplacementField(), "displacement_mm"),
                            prefix + "_field.vti");
    auto jacobian = itk::JacobianDeterminantFoldingImageFilter<visualization::FieldType>::New();
    jacobian->SetInput(filter->GetDisplacementField());
    jacobian->Update();
    visualization::writeVti(visualization::toVtkImageData(jacobian->GetOutput(), "jacobian_determinant"),
                            prefix + "_jacobian.vti");
    if (model->HasExpertMaps())
    {
      auto experts = visualization::toVtkImageData(source->GetExpertMap(0), "experts_i");
      for (unsigned d = 1; d < 3; ++d)
      {
        auto more = visualization::toVtkImageData(source->GetExpertMap(d), d == 1 ? "experts_j" : "experts_k");
        experts->GetPointData()->AddArray(more->GetPointData()->GetScalars());
      }
      visualization::writeVti(experts, prefix + "_experts.vti");
    }
    std::cout << "wrote " << prefix << "_field.vti, " << prefix << "_jacobian.vti"
              << (model->HasExpertMaps() ? ", " + prefix + "_experts.vti" : std::string()) << "\n";
  }
  return 0;
}

int
plotTrainingCommand(int argc, char * argv[])
{
  ArgumentParser args("plot-training", "Plots the training and validation curves of a training log.csv as PNG.");
  args.option("log", "FILE.csv", "the trainer's log.csv");
  args.option("output", "FILE.png", "the plot");
  if (!args.parse(argc, argv, 2))
    return 0;
  args.require({ "log", "output" });
  visualization::writePng(visualization::renderTrainingCurves(args.get("log")), args.get("output"));
  std::cout << "wrote " << args.get("output") << "\n";
  return 0;
}

int
infoCommand(int argc, char * argv[])
{
  ArgumentParser args("info", "Prints a model file's preset, configuration, parameter count and provenance.");
  args.option("model", "FILE", "model file");
  if (!args.parse(argc, argv, 2))
    return 0;
  auto model = itk::SHMoARegModel::New();
  model->SetDevice("cpu");
  model->LoadFromFile(args.get("model"));
  std::cout << "preset:        " << model->GetPresetName() << "\n"
            << "parameters:    " << model->GetNumberOfParameters() << "\n"
            << "configuration: " << model->GetConfigurationAsJSON() << "\n"
            << "provenance:    " << model->GetProvenance() << "\n";
  return 0;
}

int
presetsCommand(int argc, char * argv[])
{
  ArgumentParser args("presets", "Prints every preset with its parameter count.");
  if (!args.parse(argc, argv, 2))
    return 0;
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
  ArgumentParser args("forward",
                      "Runs a network once on a pair resampled onto the network grid; prints the "
                      "preset, parameter count, output shapes and time.");
  args.option("fixed", "IMAGE", "fixed image");
  args.option("moving", "IMAGE", "moving image");
  args.option("size", "N", "network grid size per axis (default 128)");
  addModelOptions(args);
  if (!args.parse(argc, argv, 2))
    return 0;
  args.require({ "fixed", "moving" });
  auto model = makeModel(args);
  const auto fixed = readImage(args.get("fixed"), "fixed");
  const auto moving = readImage(args.get("moving"), "moving");
  itk::SHMoARegNetworkGrid::SizeType size;
  size.Fill(static_cast<itk::SizeValueType>(args.getInt("size", 128)));
  const auto start = std::chrono::steady_clock::now();
  const auto grid = itk::SHMoARegNetworkGrid::MakeGrid(fixed, size);
  const auto fixedGrid = itk::SHMoARegNetworkGrid::PrepareNetworkInput(fixed.GetPointer(), grid);
  const auto movingGrid = itk::SHMoARegNetworkGrid::PrepareNetworkInput(moving.GetPointer(), grid);
  const double preprocessing = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto prediction = model->Predict(fixedGrid, movingGrid);
  std::cout << "preset:        " << model->GetPresetName() << "\n"
            << "parameters:    " << model->GetNumberOfParameters() << "\n"
            << "device:        " << model->GetDevice() << "\n"
            << "fixed image:   " << args.get("fixed") << " size " << fixed->GetLargestPossibleRegion().GetSize()
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
  out << "usage: shmoareg <command> [options]   (shmoareg <command> --help for its options)\n"
         "       shmoareg --version   (the module, ITK and LibTorch versions, CUDA, the model format)\n"
         "exit status: 0 success, 1 a failed registration or bad data, 2 a usage error\n"
         "commands:\n"
         "  register   register a moving image to a fixed image\n"
         "  train      train a network (synthetic data, a manifest, OASIS or BTCV layouts)\n"
         "  evaluate   score a model on a dataset's test pairs (Dice, ASSD, folding, time)\n"
         "  score      score a displacement field from any tool against label maps (one CSV row)\n"
         "  synthesize write subjects of the built-in synthetic Colin27 dataset\n"
         "  render     register a pair and render a PNG figure (and .vti files for ParaView)\n"
         "  plot-training  plot a training log's curves as PNG\n"
         "  info       describe a model file\n"
         "  export     write a model file without optimiser state (e.g. from a checkpoint)\n"
         "  warp       apply displacement fields to an image, a label map or points\n"
         "  presets    list the network presets and their parameter counts\n"
         "  forward    run a network once on an image pair (shapes and time)\n";
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
  const std::map<std::string, int (*)(int, char *[])> commands{
    { "register", registerCommand }, { "train", trainCommand },    { "evaluate", evaluateCommand },
    { "info", infoCommand },         { "score", scoreCommand },    { "synthesize", synthesizeCommand },
    { "export", exportCommand },     { "warp", cli::warpCommand }, { "presets", presetsCommand },
    { "forward", forwardCommand },   { "render", renderCommand },  { "plot-training", plotTrainingCommand }
  };
  try
  {
    if (command == "--help" || command == "-h" || command == "help")
    {
      printUsage(std::cout);
      return 0;
    }
    if (command == "--version")
    {
      std::cout << "shmoareg " << SHMOAREG_VERSION << " (ITK " << ITK_VERSION_STRING << "." << ITK_VERSION_PATCH << ", "
                << itk::SHMoARegModel::GetBackendDescription() << ")\n";
      return 0;
    }
    const auto found = commands.find(command);
    if (found == commands.end())
      throw UsageError("unknown command '" + command + "'");
    return found->second(argc, argv);
  }
  catch (const UsageError & error)
  {
    std::cerr << "shmoareg: " << error.what() << "\n";
    if (commands.count(command))
      std::cerr << "(shmoareg " << command << " --help lists the options)\n";
    else
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
    std::cerr << "shmoareg: error: " << messageWithoutTrace(error) << "\n";
    return 1;
  }
}
