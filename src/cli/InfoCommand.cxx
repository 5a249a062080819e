// shmoareg info: a model file's preset, configuration, parameters and provenance.
#include "CliCommands.h"
#include "CommandLine.h"

#include "itkSHMoARegModel.h"

#include <iostream>

namespace shmoareg::cli {

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
  args.results() << "preset:        " << model->GetPresetName() << "\n"
                 << "parameters:    " << model->GetNumberOfParameters() << "\n"
                 << "configuration: " << model->GetConfigurationAsJSON() << "\n"
                 << "provenance:    " << model->GetProvenance() << "\n";
  return 0;
}

} // namespace shmoareg::cli
