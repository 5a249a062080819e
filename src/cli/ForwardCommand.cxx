// shmoareg forward: a network once on a pair resampled onto its grid (shapes and time).
#include "CliCommands.h"
#include "RegistrationOptions.h"

#include <chrono>
#include <iomanip>
#include <iostream>

namespace shmoareg::cli {

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
  args.results() << "preset:        " << model->GetPresetName() << "\n"
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

} // namespace shmoareg::cli
