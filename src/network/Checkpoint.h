// Self-describing model files: the network's configuration, a format version, a checksum of
// the weights and free-form provenance travel with the weights, so a file alone rebuilds its
// network, and a file of another architecture, a truncated or a corrupted file is refused
// with a message that says which.
#ifndef shmoareg_Checkpoint_h
#define shmoareg_Checkpoint_h

#include "RegistrationNetwork.h"

#include <array>
#include <stdexcept>
#include <string>

namespace shmoareg {

constexpr int64_t kCheckpointFormatVersion = 1;

class CheckpointError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// The network grid a model was trained on, as its provenance records it: voxel size and field of
// view (mm, i j k; zeros where the file does not say) and where the box sat on each training
// image. The trainer writes the keys below; older files had only the training's centre crop,
// which was the field of view where it cut every axis.
struct TrainingGrid
{
  std::array<double, 3> voxelMm{};
  std::array<double, 3> fieldOfViewMm{};
  std::string boxCentre = "image"; // or "foreground"
};
constexpr const char * kProvenanceVoxelMm = "network_voxel_mm";
constexpr const char * kProvenanceFieldOfViewMm = "network_field_of_view_mm";
constexpr const char * kProvenanceBoxCentre = "network_box_centre";

// Never throws: a provenance that is not JSON, or keys of the wrong form, read as "not said".
TrainingGrid
trainingGridOf(const std::string & provenance);

struct LoadedModel
{
  RegistrationNetwork network{ nullptr };
  std::string provenance; // JSON text written by whoever saved the file (training, tests)
  TrainingGrid trainingGrid;
};

// Writes atomically: to a temporary file beside `path`, renamed over it when complete.
// `extra` tensors (optimiser state, RNG state ...) are stored under their names.
// With `optimizer`, its state is stored too (for resuming training).
void
saveCheckpoint(const std::string & path,
               const RegistrationNetwork & network,
               const std::string & provenance = "{}",
               const std::vector<std::pair<std::string, torch::Tensor>> & extra = {},
               const torch::optim::Optimizer * optimizer = nullptr);

// Restores an optimiser state written by saveCheckpoint; throws CheckpointError if absent.
void
loadOptimizerState(const std::string & path, torch::optim::Optimizer & optimizer);

// Rebuilds the network from the configuration in the file and loads its weights (on CPU).
LoadedModel
loadCheckpoint(const std::string & path);

// Loads the weights of `path` into an existing network; the file's configuration must equal
// the network's (otherwise CheckpointError names both architectures).
void
loadCheckpointInto(const std::string & path, RegistrationNetwork & network);

// A warm start: loads the weights of `path` into a network of the same architecture that may be
// another preset or variant (the diffeomorphic one integrates the same output as a velocity).
// Only the preset name, the diffeomorphic flag and the integration steps may differ; anything
// that changes the weights is refused as loadCheckpointInto does. Returns the file's preset.
std::string
loadCompatibleWeightsInto(const std::string & path, RegistrationNetwork & network);

// Reads an extra tensor written by saveCheckpoint; undefined if absent.
torch::Tensor
readCheckpointTensor(const std::string & path, const std::string & name);

// Reads only the configuration and provenance (cheap).
NetworkConfig
readCheckpointConfig(const std::string & path, std::string * provenance = nullptr);

} // namespace shmoareg

#endif
