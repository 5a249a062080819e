#include "Checkpoint.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <iterator>

#include <cmath>
#include <cstdio>
#include <fstream>

namespace shmoareg {

namespace {
const char * const kVersionKey = "shmoareg_format_version";
const char * const kConfigKey = "shmoareg_config";
const char * const kProvenanceKey = "shmoareg_provenance";
const char * const kChecksumKey = "shmoareg_weights_checksum";

// FNV-1a over every parameter and buffer (name, shape, bytes) in registration order: a flipped
// weight byte that the zip container does not notice is still refused.
int64_t
weightsChecksum(const torch::nn::Module & module)
{
  uint64_t hash = 1469598103934665603ULL;
  auto mix = [&hash](const void * data, size_t bytes) {
    const auto * p = static_cast<const unsigned char *>(data);
    for (size_t i = 0; i < bytes; ++i)
    {
      hash ^= p[i];
      hash *= 1099511628211ULL;
    }
  };
  auto mixTensor = [&](const std::string & name, const torch::Tensor & t) {
    mix(name.data(), name.size());
    const torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    mix(c.sizes().data(), c.sizes().size() * sizeof(int64_t));
    mix(c.data_ptr(), c.numel() * c.element_size());
  };
  for (const auto & p : module.named_parameters())
    mixTensor(p.key(), p.value());
  for (const auto & b : module.named_buffers())
    mixTensor(b.key(), b.value());
  return static_cast<int64_t>(hash);
}

bool
fileReadable(const std::string & path)
{
  std::ifstream in(path, std::ios::binary);
  return in.good();
}

uint32_t
littleEndian(const std::string & bytes, size_t at, size_t width)
{
  uint32_t value = 0;
  for (size_t i = 0; i < width; ++i)
    value |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  return value;
}

// LibTorch's loader crashes on some damaged archives (a flipped bit in the TorchScript code
// entry segfaulted inside torch::jit's parser: FuzzCheckpoint), and it does not check the zip
// entries' CRC-32. So every stored entry's checksum is verified first, with zlib's crc32.
// Archives this reader cannot follow (zip64, compressed entries) are left to LibTorch.
void
verifyArchiveChecksums(const std::string & path)
{
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto damaged = [&path](const std::string & what) {
    return CheckpointError("model file '" + path + "' is damaged (" + what + ")");
  };
  // The end-of-central-directory record: 22 bytes and a comment of up to 65535.
  size_t end = std::string::npos;
  for (size_t at = bytes.size() >= 22 ? bytes.size() - 22 : std::string::npos;
       at != std::string::npos && bytes.size() - at <= 22 + 65535;
       at = at == 0 ? std::string::npos : at - 1)
    if (littleEndian(bytes, at, 4) == 0x06054b50)
    {
      end = at;
      break;
    }
  if (end == std::string::npos)
    return; // not a zip archive: LibTorch says so
  const uint32_t entries = littleEndian(bytes, end + 10, 2);
  const uint32_t directory = littleEndian(bytes, end + 16, 4);
  if (entries == 0xFFFF || directory == 0xFFFFFFFF)
    return; // zip64
  size_t at = directory;
  for (uint32_t e = 0; e < entries; ++e)
  {
    if (at + 46 > bytes.size() || littleEndian(bytes, at, 4) != 0x02014b50)
      throw damaged("its zip directory is broken");
    const uint32_t method = littleEndian(bytes, at + 10, 2);
    const uint32_t crc = littleEndian(bytes, at + 16, 4);
    const uint32_t size = littleEndian(bytes, at + 20, 4);
    const size_t nameLength = littleEndian(bytes, at + 28, 2);
    const size_t extraLength = littleEndian(bytes, at + 30, 2);
    const size_t commentLength = littleEndian(bytes, at + 32, 2);
    const size_t local = littleEndian(bytes, at + 42, 4);
    if (at + 46 + nameLength > bytes.size())
      throw damaged("its zip directory is broken");
    const std::string name = bytes.substr(at + 46, nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (method != 0 || size == 0xFFFFFFFF || local == 0xFFFFFFFF)
      continue;
    if (local + 30 > bytes.size() || littleEndian(bytes, local, 4) != 0x04034b50)
      throw damaged("the entry '" + name + "' is not where the directory says");
    const size_t data = local + 30 + littleEndian(bytes, local + 26, 2) + littleEndian(bytes, local + 28, 2);
    if (data + size > bytes.size())
      throw damaged("the entry '" + name + "' runs past the end of the file");
    const auto computed =
      static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef *>(bytes.data() + data), static_cast<uInt>(size)));
    if (computed != crc)
      throw damaged("the entry '" + name + "' fails its checksum");
  }
}

torch::serialize::InputArchive
openArchive(const std::string & path)
{
  if (!fileReadable(path))
    throw CheckpointError("cannot read model file '" + path + "'");
  verifyArchiveChecksums(path);
  torch::serialize::InputArchive archive;
  try
  {
    archive.load_from(path, torch::kCPU);
  }
  catch (const c10::Error & error)
  {
    throw CheckpointError("model file '" + path + "' is truncated or corrupted (not a readable archive): " +
                          std::string(error.what_without_backtrace()));
  }
  c10::IValue version;
  if (!archive.try_read(kVersionKey, version) || !version.isInt())
    throw CheckpointError("'" + path + "' is not an SHMoAReg model file (no format version)");
  if (version.toInt() != kCheckpointFormatVersion)
    throw CheckpointError("model file '" + path + "' has format version " + std::to_string(version.toInt()) +
                          "; this build reads version " + std::to_string(kCheckpointFormatVersion));
  return archive;
}

std::string
readString(torch::serialize::InputArchive & archive, const char * key, const std::string & path)
{
  c10::IValue value;
  if (!archive.try_read(key, value) || !value.isString())
    throw CheckpointError("model file '" + path + "' lacks its '" + key + "' record");
  return value.toStringRef();
}

NetworkConfig
parseConfig(const std::string & text, const std::string & path)
{
  try
  {
    return NetworkConfig::fromJson(text);
  }
  catch (const std::exception & error)
  {
    throw CheckpointError("model file '" + path + "' has an unreadable configuration: " + error.what());
  }
}

void
readWeights(torch::serialize::InputArchive & archive, const std::string & path, RegistrationNetwork & network)
{
  torch::serialize::InputArchive weights;
  try
  {
    if (!archive.try_read("model", weights))
      throw CheckpointError("model file '" + path + "' has no weights");
    network->load(weights);
  }
  catch (const c10::Error & error)
  {
    throw CheckpointError("model file '" + path + "' does not match its architecture or is corrupted: " +
                          std::string(error.what_without_backtrace()));
  }
  c10::IValue checksum;
  if (!archive.try_read(kChecksumKey, checksum) || !checksum.isInt() || checksum.toInt() != weightsChecksum(*network))
    throw CheckpointError("model file '" + path + "' is corrupted: the weights do not match their checksum");
}
} // namespace

void
saveCheckpoint(const std::string & path,
               const RegistrationNetwork & network,
               const std::string & provenance,
               const std::vector<std::pair<std::string, torch::Tensor>> & extra,
               const torch::optim::Optimizer * optimizer)
{
  torch::serialize::OutputArchive archive;
  archive.write(kVersionKey, c10::IValue(kCheckpointFormatVersion));
  archive.write(kConfigKey, c10::IValue(network->config().toJson()));
  archive.write(kProvenanceKey, c10::IValue(provenance));
  archive.write(kChecksumKey, c10::IValue(weightsChecksum(*network)));
  torch::serialize::OutputArchive weights;
  network->save(weights);
  archive.write("model", weights);
  for (const auto & entry : extra)
    archive.write("extra_" + entry.first, entry.second, /*is_buffer=*/true);
  if (optimizer)
  {
    torch::serialize::OutputArchive state;
    optimizer->save(state);
    archive.write("optimizer", state);
  }

  const std::string temporary = path + ".partial";
  try
  {
    archive.save_to(temporary);
  }
  catch (const c10::Error & error)
  {
    std::remove(temporary.c_str());
    throw CheckpointError("cannot write model file '" + path + "': " + std::string(error.what_without_backtrace()));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0)
  {
    std::remove(temporary.c_str());
    throw CheckpointError("cannot move the model file into place at '" + path + "'");
  }
}

NetworkConfig
readCheckpointConfig(const std::string & path, std::string * provenance)
{
  torch::serialize::InputArchive archive = openArchive(path);
  if (provenance)
    *provenance = readString(archive, kProvenanceKey, path);
  return parseConfig(readString(archive, kConfigKey, path), path);
}

namespace {
bool
readPositiveTriple(const nlohmann::json & object, const char * key, std::array<double, 3> & triple)
{
  const auto found = object.find(key);
  if (found == object.end() || !found->is_array() || found->size() != 3)
    return false;
  for (unsigned int a = 0; a < 3; ++a)
    if (!(*found)[a].is_number() || !((*found)[a].get<double>() > 0.0))
      return false;
  for (unsigned int a = 0; a < 3; ++a)
    triple[a] = (*found)[a].get<double>();
  return true;
}
} // namespace

TrainingGrid
trainingGridOf(const std::string & provenanceText)
{
  TrainingGrid recorded;
  const auto provenance = nlohmann::json::parse(provenanceText, nullptr, /*allow_exceptions=*/false);
  if (!provenance.is_object())
    return recorded;
  const auto centre = provenance.find(kProvenanceBoxCentre);
  if (centre != provenance.end() && centre->is_string() && *centre == "foreground")
    recorded.boxCentre = "foreground";
  std::array<double, 3> crop{}, grid{};
  const auto training = provenance.find("training");
  const bool cropped = training != provenance.end() && training->is_object() &&
                       readPositiveTriple(*training, "centre_crop_mm", crop) &&
                       readPositiveTriple(*training, "grid", grid);
  if (!readPositiveTriple(provenance, kProvenanceVoxelMm, recorded.voxelMm) && cropped)
    for (unsigned int a = 0; a < 3; ++a)
      recorded.voxelMm[a] = crop[a] / grid[a];
  if (!readPositiveTriple(provenance, kProvenanceFieldOfViewMm, recorded.fieldOfViewMm) && cropped)
  {
    // The crop was the field of view only where it cut the image: then voxel size x grid = crop.
    bool everyAxisCropped = true;
    for (unsigned int a = 0; a < 3; ++a)
      everyAxisCropped =
        everyAxisCropped && std::abs(recorded.voxelMm[a] * grid[a] - crop[a]) < 0.5 * recorded.voxelMm[a];
    if (everyAxisCropped)
      recorded.fieldOfViewMm = crop;
  }
  return recorded;
}

LoadedModel
loadCheckpoint(const std::string & path)
{
  torch::serialize::InputArchive archive = openArchive(path);
  LoadedModel model;
  model.provenance = readString(archive, kProvenanceKey, path);
  model.trainingGrid = trainingGridOf(model.provenance);
  model.network = RegistrationNetwork(parseConfig(readString(archive, kConfigKey, path), path));
  readWeights(archive, path, model.network);
  return model;
}

namespace {
void
checkSameArchitecture(const NetworkConfig & stored, const NetworkConfig & expected, const std::string & path)
{
  if (stored != expected)
    throw CheckpointError("model file '" + path + "' holds a " + stored.preset + " network (encoder " +
                          toString(stored.encoder) + ", decoder " + toString(stored.decoder) +
                          ") that differs from the expected " + expected.preset + " network (encoder " +
                          toString(expected.encoder) + ", decoder " + toString(expected.decoder) + ")");
}
} // namespace

void
loadCheckpointInto(const std::string & path, RegistrationNetwork & network)
{
  torch::serialize::InputArchive archive = openArchive(path);
  checkSameArchitecture(parseConfig(readString(archive, kConfigKey, path), path), network->config(), path);
  readWeights(archive, path, network);
}

std::string
loadCompatibleWeightsInto(const std::string & path, RegistrationNetwork & network)
{
  torch::serialize::InputArchive archive = openArchive(path);
  NetworkConfig stored = parseConfig(readString(archive, kConfigKey, path), path);
  const std::string storedPreset = stored.preset;
  // What does not change the weights is taken from the network being trained.
  stored.preset = network->config().preset;
  stored.diffeomorphic = network->config().diffeomorphic;
  stored.integrationSteps = network->config().integrationSteps;
  checkSameArchitecture(stored, network->config(), path);
  readWeights(archive, path, network);
  return storedPreset;
}

void
loadOptimizerState(const std::string & path, torch::optim::Optimizer & optimizer)
{
  torch::serialize::InputArchive archive = openArchive(path);
  torch::serialize::InputArchive state;
  try
  {
    if (!archive.try_read("optimizer", state))
      throw CheckpointError("model file '" + path + "' holds no optimiser state: it cannot resume training");
    optimizer.load(state);
  }
  catch (const c10::Error & error)
  {
    throw CheckpointError("the optimiser state in '" + path +
                          "' does not match this network: " + std::string(error.what_without_backtrace()));
  }
}

torch::Tensor
readCheckpointTensor(const std::string & path, const std::string & name)
{
  torch::serialize::InputArchive archive = openArchive(path);
  torch::Tensor tensor;
  archive.try_read("extra_" + name, tensor, /*is_buffer=*/true);
  return tensor;
}

} // namespace shmoareg
