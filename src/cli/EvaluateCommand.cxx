// shmoareg evaluate: every ordered test pair of a dataset, the paper's Table I columns.
#include "CliCommands.h"
#include "Evaluation.h"
#include "RegistrationOptions.h"
#include "Trainer.h"

#include <iostream>

namespace shmoareg::cli {

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
  const int grid = args.getInt("grid", 0); // 0: not given (a given --grid is >= 1: checked on parsing)
  std::vector<training::MethodScores> methods;
  if (!args.has("no-identity"))
    methods.push_back(training::evaluateOnTestPairs("Initial", nullptr, manifest, grid, args.progress()));
  methods.push_back(training::evaluateOnTestPairs(model->GetPresetName(), model, manifest, grid, args.progress()));
  args.results() << training::scoresToMarkdown(methods) << "\n";
  const std::string csv = training::scoresToCsv(methods);
  if (args.has("csv"))
  {
    AtomicOutputs outputs;
    outputs.writeText(csv, args.get("csv"));
    outputs.commit();
  }
  else
  {
    args.results() << csv;
  }
  return 0;
}

} // namespace shmoareg::cli
