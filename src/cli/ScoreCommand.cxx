// shmoareg score: a displacement field from any tool against label maps, one CSV row.
#include "CliCommands.h"
#include "CommandLine.h"
#include "Evaluation.h"
#include "ImageFiles.h"
#include "RegistrationOptions.h"

#include <iomanip>
#include <iostream>
#include <sstream>

namespace shmoareg::cli {

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
                           ? training::readImageFile<training::MaskImageType>(args.get("fixed-mask"), "fixed mask")
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
    args.results() << "method,pair,dice,assd_mm,folding_percent,seconds,epe_mm\n";
  args.results() << args.get("method", args.has("field") ? "field" : "identity") << "," << args.get("pair", "") << ","
                 << std::setprecision(6) << score.dice << "," << score.assd << "," << score.folding << ","
                 << args.getDouble("seconds", 0.0) << "," << endPointError << "\n";
  return 0;
}

} // namespace shmoareg::cli
