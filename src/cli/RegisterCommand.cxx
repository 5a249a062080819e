// shmoareg register: one pair, or a list of pairs with one model load (--pairs).
#include "AffinePreAlignment.h"
#include "CliCommands.h"
#include "CsvRows.h"
#include "ErrorMessage.h"
#include "Evaluation.h"
#include "ImageFiles.h"
#include "PairList.h"
#include "PointFiles.h"
#include "RegistrationOptions.h"

#include "itkSHMoARegDisplacementFields.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <set>
#include <sstream>

namespace shmoareg::cli {

namespace {
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
  const std::vector<OutputFile> outputFiles{ { "--output-field", fieldPath },
                                             { "--output-warped", warpedPath },
                                             { "--output-warped-labels", labelsPath },
                                             { "--output-inverse-field", inversePath },
                                             { "--output-metrics", metricsPath },
                                             { "--output-transform", transformPath },
                                             { "--output-inverse-transform", inverseTransformPath },
                                             { "--output-prefix", prefixPath("0GenericAffine.mat") },
                                             { "--output-prefix", prefixPath("1Warp.nii.gz") },
                                             { "--output-prefix", prefixPath("1InverseWarp.nii.gz") } };
  if (std::all_of(outputFiles.begin(), outputFiles.end(), [](const OutputFile & f) { return f.path.empty(); }))
    throw UsageError("give an output: --output-prefix, --output-field, --output-warped, --output-transform, ...");
  if (args.has("output-warped-labels") && !args.has("moving-labels"))
    throw UsageError("--output-warped-labels needs --moving-labels");
  if (args.has("fixed-labels") != args.has("moving-labels") && !args.has("output-warped-labels"))
    throw UsageError("Dice and ASSD need both --fixed-labels and --moving-labels");
  if (args.has("output-metrics") && !args.has("fixed-labels"))
    throw UsageError("--output-metrics needs --fixed-labels and --moving-labels");
  if (args.has("affine") && args.has("initial-transform"))
    throw UsageError("give --affine or --initial-transform, not both");
  checkOutputFiles(outputFiles, registrationInputPaths(args));

  itk::SHMoARegModel * model = loadModel();
  const RegistrationInputs inputs = readRegistrationInputs(args);
  const ImageType::Pointer fixed = inputs.fixed;
  const ImageType::Pointer moving = inputs.moving;
  const LabelImageType::Pointer movingLabels = inputs.movingLabels;
  const LabelImageType::Pointer fixedLabels = inputs.fixedLabels;
  const auto fixedMask = args.has("fixed-mask")
                           ? training::readImageFile<training::MaskImageType>(args.get("fixed-mask"), "fixed mask")
                           : training::MaskImageType::Pointer();
  TransformType::Pointer initial = readInitialTransform(args);
  const auto start = std::chrono::steady_clock::now();
  double affineSeconds = 0.0;
  if (args.has("affine"))
  {
    args.progress() << "affine pre-alignment (ITK ImageRegistrationMethodv4, Mattes MI)\n";
    const AffinePreAlignmentResult affine = affinePreAlignment(fixed, moving, args.details());
    affineSeconds = affine.seconds;
    args.progress() << "  " << affine.iterations << " iterations in " << std::fixed << std::setprecision(2)
                    << affine.seconds << " s\n";
    initial = affine.transform.GetPointer();
  }
  // With a linear initial transform A the outputs follow ANTs: x -> A(x + w(x)), A in
  // P0GenericAffine.mat and the deformable part w in P1Warp; the full field (--output-field) is
  // x + u(x) = A(x + w(x)).
  const LinearTransformType * linear = asLinearTransform(initial);
  const bool totalInverseNeeded =
    !inversePath.empty() || (!linear && (!prefix.empty() || !inverseTransformPath.empty()));
  const auto filter = registerPair(args, model, fixed, moving, movingLabels, totalInverseNeeded, initial);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  args.results() << "registered with " << model->GetPresetName() << " (" << model->GetNumberOfParameters()
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
    args.progress() << "inverse field on the moving grid ("
                    << (filter->GetInverseIsExact() ? "exact: the diffeomorphic model's negated velocities"
                                                    : "fixed-point iteration")
                    << "): residual |u(y + v(y)) + v(y)| mean " << filter->GetInverseMeanResidual() << " mm, max "
                    << filter->GetInverseMaximumResidual() << " mm\n";

  // The deformable part and its inverse (ANTs' P1Warp / P1InverseWarp) and the composite
  // transforms, each direction stated in docs/training.md.
  using FieldType = RegistrationFilterType::DisplacementFieldType;
  using itk::SHMoARegDisplacementFields;
  const FieldType * deformable = filter->GetDeformableDisplacementField();
  FieldType::Pointer deformableInverse = filter->GetInverseDisplacementField();
  auto forward = CompositeTransformType::New();
  auto backward = CompositeTransformType::New();
  LinearTransformType::Pointer affineOut;
  if (linear)
  {
    affineOut = toAffineTransform(linear);
    forward->AddTransform(affineOut); // applied second
    forward->AddTransform(SHMoARegDisplacementFields::ToTransform(deformable));
    if (!prefix.empty() || !inverseTransformPath.empty())
    {
      // The deformable part's inverse on the fixed grid, with the filter's inversion settings.
      const auto inversion = SHMoARegDisplacementFields::Invert(deformable,
                                                                deformable,
                                                                filter->GetInverseMaximumNumberOfIterations(),
                                                                filter->GetInverseTolerance(),
                                                                filter->GetNumberOfWorkUnits());
      deformableInverse = inversion.Inverse;
      args.progress() << "inverse of the deformable part on the fixed grid: max residual " << inversion.MaximumResidual
                      << " mm\n";
      backward->AddTransform(SHMoARegDisplacementFields::ToTransform(deformableInverse.GetPointer())); // applied second
      backward->AddTransform(affineOut->GetInverseTransform());
    }
  }
  else
  {
    forward->AddTransform(SHMoARegDisplacementFields::ToTransform(filter->GetDisplacementField()));
    if (totalInverseNeeded)
      backward->AddTransform(SHMoARegDisplacementFields::ToTransform(filter->GetInverseDisplacementField()));
  }

  args.progress() << "writing the outputs\n";
  AtomicOutputs outputs;
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
    writeImage(deformable, prefixPath("1Warp.nii.gz"));
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
    args.results() << std::setprecision(4) << "Dice " << before.dice << " -> " << after.dice << ", ASSD " << before.assd
                   << " -> " << after.assd << " mm, folding (det J <= 0) " << after.folding << " %, "
                   << std::setprecision(2) << seconds << " s\n";
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
  args.results() << "wrote";
  for (const auto & path : written)
    args.results() << " " << path;
  args.results() << "\n";
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
  Shard shard;
  if (args.has("shard"))
  {
    try
    {
      shard = parseShard(args.get("shard"));
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
  const std::vector<PairEntry> pairs = readPairList(args.get("pairs"));
  const std::filesystem::path folder = args.get("output-dir");
  std::filesystem::create_directories(folder);
  std::vector<const PairEntry *> mine;
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
    const PairEntry & pair = *mine[k];
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
        args.progress() << counter << ": complete (" << done << "), skipped" << std::endl;
        continue;
      }
      row = { { "name", pair.name }, { "fixed", pair.fixed }, { "moving", pair.moving } }; // unreadable: redo
    }
    args.progress() << counter << ": " << pair.fixed << " <- " << pair.moving << std::endl;
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
      AtomicOutputs marker;
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
    args.results() << line.str() << std::endl;
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
  AtomicOutputs outputs;
  const std::string csvPath = (folder / ("summary" + suffix + ".csv")).string();
  const std::string jsonPath = (folder / ("summary" + suffix + ".json")).string();
  outputs.writeText(csv.str(), csvPath);
  outputs.writeText(summary.dump(2) + "\n", jsonPath);
  outputs.commit();
  args.results() << registered << " registered, " << failed << " failed, " << rows.size() - registered - failed
                 << " done earlier, of " << mine.size() << " pairs" << (shard.count > 1 ? " in this shard" : "")
                 << "; summary: " << csvPath << ", " << jsonPath << "\n";
  return failed ? 1 : 0;
}
} // namespace

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

} // namespace shmoareg::cli
