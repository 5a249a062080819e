// shmoareg export: a model file alone, e.g. from a training checkpoint.
#include "CliCommands.h"
#include "CommandLine.h"

#include "itkSHMoARegModel.h"

#include <filesystem>
#include <iostream>

namespace shmoareg::cli {

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
  args.results() << "wrote " << args.get("output") << " (" << model->GetPresetName() << ", "
                 << model->GetNumberOfParameters() << " parameters, " << std::filesystem::file_size(args.get("output"))
                 << " bytes)\n";
  return 0;
}

} // namespace shmoareg::cli
