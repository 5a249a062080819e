// shmoareg presets: every network preset with its parameter count.
#include "CliCommands.h"
#include "CommandLine.h"

#include "itkSHMoARegModel.h"

#include <iomanip>
#include <iostream>

namespace shmoareg::cli {

int
presetsCommand(int argc, char * argv[])
{
  ArgumentParser args("presets", "Prints every preset with its parameter count.");
  if (!args.parse(argc, argv, 2))
    return 0;
  args.results() << "| preset | parameters | parameters (M) |\n|---|---:|---:|\n";
  for (const auto & name : itk::SHMoARegModel::GetPresetNames())
  {
    auto model = itk::SHMoARegModel::New();
    model->SetDevice("cpu");
    model->CreateFromPreset(name);
    args.results() << "| " << name << " | " << model->GetNumberOfParameters() << " | " << std::fixed
                   << std::setprecision(2) << model->GetNumberOfParameters() / 1e6 << " |\n";
  }
  args.results() << "| TransMorph-small (reference, Chen et al. 2022) | 11760000 | 11.76 |\n";
  return 0;
}

} // namespace shmoareg::cli
