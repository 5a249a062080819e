// Training from the command line: configuration, data preparation onto the network grid,
// the optimisation loop with progress, CSV log, atomic checkpoints, exact resume and a clean
// stop on Ctrl-C.
#ifndef shmoareg_Trainer_h
#define shmoareg_Trainer_h

#include "Dataset.h"
#include "DistributedGroup.h"
#include "Losses.h"
#include "SyntheticDataset.h"

#include <nlohmann/json.hpp>

#include <array>
#include <ostream>

namespace shmoareg::training {

struct TrainingOptions
{
  std::string preset = "SHMoAReg";
  nlohmann::json network = nlohmann::json::object(); // NetworkConfig fields over the preset
  // "synthetic", a manifest (.json / .csv), "oasis:FOLDER" (Learn2Reg layout) or "btcv:FOLDER".
  std::string data = "synthetic";
  SyntheticDatasetOptions synthetic;
  std::array<int, 3> grid{ 64, 64, 64 }; // network grid (i, j, k)
  // The paper's centre crop: a box of this physical size (mm, i j k) centred in each subject,
  // before resampling onto the network grid; 0 keeps an axis whole.
  std::array<double, 3> centreCropMm{ 0.0, 0.0, 0.0 };
  // Where that box sits: "image" (the centre of each image's extent) or "foreground" (the
  // centre of its head or brain, SHMoARegNetworkGrid::ForegroundCentre, which an image's extent
  // does not move). Recorded in the model file; the filters place the box the same way.
  std::string boxCentre = "image";
  int64_t iterations = 1000; // in total, counting those of initialModel
  double learningRate = 1e-4;
  // Learning-rate schedule: a linear warm-up over warmupIterations, then "constant" or "cosine"
  // (from learningRate down to minLearningRate at `iterations`). A function of the iteration
  // alone, so a resumed run follows it exactly.
  std::string learningRateSchedule = "constant";
  int64_t warmupIterations = 0;
  double minLearningRate = 0.0;
  // Start from this model's weights (an exported model.pt: a fresh Adam state) and count on
  // from its recorded iterations; its configuration must equal the one configured here.
  std::string initialModel;
  LossWeights weights;
  // The Dice term on this many labels drawn at random each iteration (0: all labels).
  int64_t diceLabelsPerIteration = 0;
  // Pairs whose gradients each process averages per iteration (gradient accumulation); with W
  // distributed ranks an iteration averages W times as many, and W ranks of p pairs take exactly
  // the steps of one process of W * p pairs.
  int64_t pairsPerIteration = 1;
  int64_t validationInterval = 100;
  int64_t checkpointInterval = 100;
  int64_t logInterval = 10;
  size_t validationPairs = 4;
  std::string output = "training-output";
  uint64_t seed = 0;
  int threads = 0;
  std::string device = "cpu";

  nlohmann::json
  toJson() const;
};

// Reads a JSON configuration (every field optional; unknown fields are errors).
TrainingOptions
readTrainingOptions(const std::string & path);
// Applies one JSON object of fields to `options` (the config file and the command-line flags
// both go through here).
void
applyTrainingOptions(const nlohmann::json & fields, TrainingOptions & options);

// The dataset a `data` string names; knownFields: a synthetic dataset also carries each subject's known fields
// (to_atlas, from_atlas).
DatasetManifest
resolveDataset(const std::string & data,
               const SyntheticDatasetOptions & synthetic,
               const std::string & scratchFolder,
               bool knownFields = false);

// A subject on the network grid: image [1, 1, k, j, i] in [0, 1], labels as float (or undefined).
struct PreparedSubject
{
  std::string id;
  torch::Tensor image;
  torch::Tensor labels;
  std::array<double, 3> voxelMm{ 0.0, 0.0, 0.0 }; // the network grid's voxel size
  // Known fields to and from the atlas on the network grid (voxels, the network's layout), when
  // the dataset has them and the known-field term is on; undefined otherwise.
  torch::Tensor toAtlas;
  torch::Tensor fromAtlas;
  bool mirrored = false; // its known fields are to and from the mirrored atlas
};
// The learning rate at `iteration` (0-based) under the options' schedule.
double
scheduledLearningRate(const TrainingOptions & options, int64_t iteration);

PreparedSubject
prepareSubject(const Subject & subject,
               const std::array<int, 3> & grid,
               const std::array<double, 3> & centreCropMm = { 0.0, 0.0, 0.0 },
               const std::string & boxCentre = "image");

// Mean Dice over the labels of `fixed` (label 0 excluded) of label tensors on one grid.
double
meanDice(const torch::Tensor & warpedLabels, const torch::Tensor & fixedLabels);

struct TrainingResult
{
  int64_t iterations = 0;
  bool interrupted = false;
  double firstValidationLoss = 0;
  double lastValidationLoss = 0;
  double identityDice = 0;
  double lastValidationDice = 0;
};

// Trains; with `resume`, continues from OUTPUT/checkpoint.pt exactly. Writes OUTPUT/log.csv,
// OUTPUT/checkpoint.pt (model + optimiser + iteration + random states, atomically) and
// OUTPUT/model.pt at the end. Ctrl-C writes a checkpoint and returns with interrupted = true.
// With `distributed` naming more than one rank, this process is one rank of a data-parallel
// group (DistributedGroup): rank 0 alone validates, logs and writes; a rank that fails makes
// the others stop with DistributedError.
TrainingResult
train(const TrainingOptions & options,
      bool resume,
      std::ostream & log,
      const DistributedSettings & distributed = DistributedSettings{});

} // namespace shmoareg::training

#endif
