// The shmoareg command line: main dispatches to the subcommands, one file each (CliCommands.h),
// and turns their errors into one line and the documented exit status.
#include "CliCommands.h"
#include "CommandLine.h"
#include "ErrorMessage.h"

#include "itkConfigure.h"
#include "itkSHMoARegExceptionText.h"
#include "itkSHMoARegImageIO.h"
#include "itkSHMoARegModel.h"

#include <iostream>
#include <map>

using namespace shmoareg;
using cli::UsageError;

namespace {
void
printUsage(std::ostream & out)
{
  out << "usage: shmoareg <command> [options]   (shmoareg <command> --help for its options)\n"
         "       shmoareg --version   (the module, ITK and LibTorch versions, CUDA, the model format)\n"
         "exit status: 0 success, 1 a failed registration or bad data, 2 a usage error\n"
         "commands:\n"
         "  register   register a moving image to a fixed image\n"
         "  train      train a network (synthetic data, a manifest, OASIS or BTCV layouts)\n"
         "  evaluate   score a model on a dataset's test pairs (Dice, ASSD, folding, time)\n"
         "  score      score a displacement field from any tool against label maps (one CSV row)\n"
         "  synthesize write subjects of the built-in synthetic Colin27 dataset\n"
         "  render     register a pair and render a PNG figure (and .vti files for ParaView)\n"
         "  plot-training  plot a training log's curves as PNG\n"
         "  info       describe a model file\n"
         "  export     write a model file without optimiser state (e.g. from a checkpoint)\n"
         "  warp       apply displacement fields to an image, a label map or points\n"
         "  presets    list the network presets and their parameter counts\n"
         "  forward    run a network once on an image pair (shapes and time)\n";
}
} // namespace

int
main(int argc, char * argv[])
{
  itk::SHMoARegRegisterImageIO();
  if (argc < 2)
  {
    printUsage(std::cerr);
    return 2;
  }
  const std::string command = argv[1];
  const std::map<std::string, int (*)(int, char *[])> commands{
    { "register", cli::registerCommand }, { "train", cli::trainCommand },
    { "evaluate", cli::evaluateCommand }, { "info", cli::infoCommand },
    { "score", cli::scoreCommand },       { "synthesize", cli::synthesizeCommand },
    { "export", cli::exportCommand },     { "warp", cli::warpCommand },
    { "presets", cli::presetsCommand },   { "forward", cli::forwardCommand },
    { "render", cli::renderCommand },     { "plot-training", cli::plotTrainingCommand }
  };
  try
  {
    if (command == "--help" || command == "-h" || command == "help")
    {
      printUsage(std::cout);
      return 0;
    }
    if (command == "--version")
    {
      std::cout << "shmoareg " << SHMOAREG_VERSION << " (ITK " << ITK_VERSION_STRING << "." << ITK_VERSION_PATCH << ", "
                << itk::SHMoARegModel::GetBackendDescription() << ")\n";
      return 0;
    }
    const auto found = commands.find(command);
    if (found == commands.end())
      throw UsageError("unknown command '" + command + "'");
    return found->second(argc, argv);
  }
  catch (const UsageError & error)
  {
    std::cerr << "shmoareg: " << error.what() << "\n";
    if (commands.count(command))
      std::cerr << "(shmoareg " << command << " --help lists the options)\n";
    else
      printUsage(std::cerr);
    return 2;
  }
  catch (const itk::ExceptionObject & error)
  {
    std::cerr << "shmoareg: error: " << itk::SHMoARegExceptionText::OneLine(error) << "\n";
    return 1;
  }
  catch (const std::exception & error)
  {
    std::cerr << "shmoareg: error: " << messageWithoutTrace(error) << "\n";
    return 1;
  }
}
