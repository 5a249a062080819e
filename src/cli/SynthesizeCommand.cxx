// shmoareg synthesize: subjects of the built-in synthetic Colin27 dataset.
#include "CliCommands.h"
#include "CommandLine.h"
#include "SyntheticDataset.h"
#include "Trainer.h"

#include <iostream>

namespace shmoareg::cli {

int
synthesizeCommand(int argc, char * argv[])
{
  ArgumentParser args("synthesize",
                      "Writes subjects of the built-in synthetic Colin27 dataset (images, AAL labels, manifest.json).");
  args.option("config", "FILE", "a training configuration: its synthetic options");
  args.option("output", "FOLDER", "where the subjects and manifest.json go");
  args.option("train", "N", "train subjects (default 0)", ValueCheck::integerAtLeast(0));
  args.option("val", "N", "validation subjects (default 0)", ValueCheck::integerAtLeast(0));
  args.option("test", "N", "test subjects (default 4)", ValueCheck::integerAtLeast(0));
  args.option("seed", "N", "dataset seed (default: the configuration's, else 1)", ValueCheck::integerAtLeast(0));
  args.flag("anisotropic", "3 x 3 x 2 mm subjects");
  args.flag("known-fields",
            "also write each subject's known transform: ID_to_atlas.nii.gz and ID_from_atlas.nii.gz (for "
            "score's end-point error)");
  if (!args.parse(argc, argv, 2))
    return 0;
  args.require({ "output" });
  training::SyntheticDatasetOptions synthetic;
  try
  {
    if (args.has("config"))
      synthetic = training::readTrainingOptions(args.get("config")).synthetic;
  }
  catch (const std::invalid_argument & error)
  {
    throw UsageError(error.what());
  }
  auto count = [&](const char * name, int fallback) { return static_cast<size_t>(args.getInt(name, fallback)); };
  synthetic.train = count("train", 0);
  synthetic.val = count("val", 0);
  synthetic.test = count("test", 4);
  if (args.has("seed"))
    synthetic.seed = static_cast<uint64_t>(args.getInt("seed", 1));
  if (args.has("anisotropic"))
    synthetic.anisotropic = true;
  const training::DatasetManifest manifest =
    training::writeSyntheticDataset(synthetic, args.get("output"), args.has("known-fields"));
  args.results() << "wrote " << manifest.subjects.size() << " subjects of '" << manifest.name << "' to "
                 << args.get("output") << "/manifest.json\n";
  return 0;
}

} // namespace shmoareg::cli
