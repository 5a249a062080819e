// shmoareg train: trains a network; flags override the JSON configuration.
#include "CliCommands.h"
#include "CommandLine.h"
#include "DistributedGroup.h"
#include "Trainer.h"

#include <nlohmann/json.hpp>

#include <iostream>

namespace shmoareg::cli {

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
  args.flag("print-config",
            "print the training configuration in effect (--config with the flags applied) as JSON, and stop");
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
  if (args.has("print-config"))
  {
    std::cout << options.toJson().dump(2) << "\n";
    return 0;
  }
  const training::TrainingResult result = training::train(options, args.has("resume"), args.progress(), distributed);
  return result.interrupted ? 130 : 0;
}

} // namespace shmoareg::cli
