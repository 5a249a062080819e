#include "RegistrationOptions.h"

#include "Dataset.h"
#include "ImageFiles.h"

#include "itkCommand.h"
#include "itkSHMoARegImageGrid.h"

#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace shmoareg::cli {

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
  args.option("threads", "N", "LibTorch threads (default: LibTorch's)", ValueCheck::integerAtLeast(1));
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
TransformType::Pointer
readInitialTransform(const ArgumentParser & args)
{
  return args.has("initial-transform") ? readTransform(args.get("initial-transform"), "initial transform")
                                       : TransformType::Pointer();
}

ImageType::Pointer
readImage(const std::string & path, const char * what)
{
  return training::readImageFile<ImageType>(path, std::string(what) + " image");
}

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
      args.progress() << "replaced " << replaced << " NaN or infinite voxel" << (replaced == 1 ? "" : "s") << " of "
                      << name << " by " << value << "\n";
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
  args.option("grid",
              "N",
              "network grid voxels per axis (default: the model's training voxel size; 128 for a preset)",
              ValueCheck::integerAtLeast(1));
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
              "warped so far, and the fields are composed (default 1)",
              ValueCheck::integerAtLeast(1));
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
  args.option("io-smoothing-passes",
              "N",
              "3^3 averaging filters on the field each iteration (default 2)",
              ValueCheck::integerAtLeast(0));
  args.option("io-learning-rate",
              "STEP",
              "the refinement's Adam step, in voxels of each level (default 0.5)",
              ValueCheck::numberAbove(0.0));
  args.option("io-smoothness",
              "W",
              "the refinement's diffusion weight (default: fast 2, accurate 4)",
              ValueCheck::numberAtLeast(0.0));
  args.option("io-folding",
              "W",
              "the refinement's folding penalty weight (default: fast 1, accurate 10)",
              ValueCheck::numberAtLeast(0.0));
  args.option("io-similarity",
              "ncc|mind|mse",
              "the refinement's similarity (default ncc: local NCC)",
              ValueCheck::oneOf({ "ncc", "mind", "mse" }));
  args.flag("refine-from-identity", "skip the network: refine from the identity (to measure the network's part)");
}

namespace {
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

} // namespace

// The registration that register and render share: --grid and --device from `args`. Without
// --grid the filter picks the grid from the model's training voxel size (128^3 for a preset).
RegistrationFilterType::Pointer
registerPair(const ArgumentParser & args,
             itk::SHMoARegModel * model,
             const ImageType * fixed,
             const ImageType * moving,
             const LabelImageType * movingLabels,
             bool inverse,
             const TransformType * initialTransform)
{
  auto filter = RegistrationFilterType::New();
  // A line per refinement level as it ends (the filter's IterationEvent).
  auto printLevel = itk::CStyleCommand::New();
  printLevel->SetClientData(&args.progress());
  printLevel->SetCallback([](itk::Object * caller, const itk::EventObject &, void * progress) {
    const auto * registration = static_cast<const RegistrationFilterType *>(caller);
    const auto & report = registration->GetRefinementReport();
    const auto & level = report.back();
    std::ostream & out = *static_cast<std::ostream *>(progress);
    const auto flags = out.flags();
    const auto precision = out.precision();
    out << "refinement level " << report.size() << "/" << registration->GetRefinementSettings().Levels.size() << ": "
        << level.GridSize[0] << " x " << level.GridSize[1] << " x " << level.GridSize[2] << " voxels of " << std::fixed
        << std::setprecision(2) << level.Spacing[0] << " x " << level.Spacing[1] << " x " << level.Spacing[2] << " mm, "
        << level.Iterations << " iterations, loss " << std::setprecision(4) << level.FirstLoss << " -> "
        << level.FinalLoss << ", " << std::setprecision(2) << level.Seconds << " s" << std::endl;
    out.flags(flags);
    out.precision(precision);
  });
  filter->AddObserver(itk::IterationEvent(), printLevel);
  // A line when the network has run (its stage ends before the refinement's levels).
  auto printNetwork = itk::CStyleCommand::New();
  printNetwork->SetClientData(&args.progress());
  printNetwork->SetCallback([](itk::Object * caller, const itk::EventObject &, void * progress) {
    const auto * source = static_cast<const RegistrationFilterType::NetworkSourceType *>(caller);
    std::ostringstream line;
    line << "network: " << std::fixed << std::setprecision(2) << source->GetNetworkSeconds() << " s\n";
    *static_cast<std::ostream *>(progress) << line.str() << std::flush;
  });
  filter->GetMoEDisplacementFieldSource()->AddObserver(itk::EndEvent(), printNetwork);
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
    filter->SetFixedMask(training::readImageFile<MaskType>(args.get("fixed-mask"), "fixed mask"));
  if (args.has("moving-mask"))
    filter->SetMovingMask(training::readImageFile<MaskType>(args.get("moving-mask"), "moving mask"));
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
  // The values' ranges and choices are checked as they are parsed (addRefinementOptions).
  if (args.has("io-smoothing-passes"))
    refinement.SmoothingPasses = static_cast<unsigned int>(args.getInt("io-smoothing-passes", 0));
  if (args.has("io-learning-rate"))
    refinement.LearningRate = args.getDouble("io-learning-rate", 0.0);
  if (args.has("io-smoothness"))
    refinement.SmoothnessWeight = args.getDouble("io-smoothness", 0.0);
  if (args.has("io-folding"))
    refinement.FoldingWeight = args.getDouble("io-folding", 0.0);
  if (args.has("io-similarity"))
    refinement.Similarity = args.get("io-similarity");
  if (args.has("network-passes"))
    filter->SetNumberOfNetworkPasses(static_cast<unsigned int>(args.getInt("network-passes", 1)));
  filter->SetRefinementSettings(refinement);
  filter->SetStartFromIdentity(args.has("refine-from-identity"));
  if (args.has("refine-from-identity") && refinement.Levels.empty())
    throw UsageError("--refine-from-identity needs --refinement fast or accurate");
  if (args.has("grid"))
  {
    RegistrationFilterType::GridSizeType grid;
    grid.Fill(static_cast<itk::SizeValueType>(args.getInt("grid", 0)));
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

} // namespace shmoareg::cli
