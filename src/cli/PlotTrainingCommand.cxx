// shmoareg plot-training: a training log's curves as PNG.
#include "CliCommands.h"
#include "CommandLine.h"
#include "RegistrationFigure.h"

#include <iostream>

namespace shmoareg::cli {

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
  args.results() << "wrote " << args.get("output") << "\n";
  return 0;
}

} // namespace shmoareg::cli
