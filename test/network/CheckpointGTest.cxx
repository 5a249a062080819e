#include "Checkpoint.h"
#include "Device.h"
#include "TestHelpers.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

using namespace shmoareg;
namespace fs = std::filesystem;

namespace {
class Checkpoints : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    m_Folder = fs::temp_directory_path() / ("shmoareg_checkpoint_test_" + std::to_string(::getpid()));
    fs::create_directories(m_Folder);
  }
  void
  TearDown() override
  {
    fs::remove_all(m_Folder);
  }
  std::string
  path(const std::string & name) const
  {
    return (m_Folder / name).string();
  }
  fs::path m_Folder;
};

void
overwrite(const std::string & path, std::uintmax_t offset, size_t bytes)
{
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>(offset));
  const std::string garbage(bytes, '\x5a');
  file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
}
} // namespace

TEST_F(Checkpoints, RoundTripIsBitwiseEqual)
{
  torch::manual_seed(14);
  RegistrationNetwork original(test_support::smallPreset("SHMoAReg"));
  saveCheckpoint(path("model.pt"), original, "{\"note\": \"test\"}");
  EXPECT_FALSE(fs::exists(path("model.pt.partial")));

  LoadedModel loaded = loadCheckpoint(path("model.pt"));
  EXPECT_EQ(loaded.network->config(), original->config());
  EXPECT_EQ(loaded.provenance, "{\"note\": \"test\"}");
  const auto a = original->named_parameters(), b = loaded.network->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto & p : a)
    EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();

  original->eval();
  loaded.network->eval();
  torch::NoGradGuard noGrad;
  const torch::Tensor m = torch::rand({ 1, 1, 24, 24, 24 }), f = torch::rand({ 1, 1, 24, 24, 24 });
  EXPECT_TRUE(torch::equal(original->forward(m, f).displacement, loaded.network->forward(m, f).displacement));
}

TEST_F(Checkpoints, CompatibleWeightsWarmStartTheDiffeomorphicVariant)
{
  torch::manual_seed(15);
  RegistrationNetwork plain(test_support::smallPreset("SHMoAReg"));
  saveCheckpoint(path("plain.pt"), plain);
  torch::manual_seed(16);
  RegistrationNetwork diffeomorphic(test_support::smallPreset("SHMoAReg_diff"));
  ASSERT_TRUE(diffeomorphic->config().diffeomorphic);
  EXPECT_THROW(loadCheckpointInto(path("plain.pt"), diffeomorphic), CheckpointError); // not the same preset
  EXPECT_EQ(loadCompatibleWeightsInto(path("plain.pt"), diffeomorphic), "SHMoAReg");
  EXPECT_TRUE(diffeomorphic->config().diffeomorphic); // the variant stays what it was
  const auto a = plain->named_parameters(), b = diffeomorphic->named_parameters();
  ASSERT_EQ(a.size(), b.size());
  for (const auto & p : a)
    EXPECT_TRUE(torch::equal(p.value(), b[p.key()])) << p.key();
  // Another architecture is refused, naming both.
  RegistrationNetwork other(test_support::smallPreset("VM"));
  try
  {
    loadCompatibleWeightsInto(path("plain.pt"), other);
    FAIL() << "SHMoAReg weights loaded into VM";
  }
  catch (const CheckpointError & error)
  {
    EXPECT_NE(std::string(error.what()).find("VM"), std::string::npos) << error.what();
  }
}

TEST_F(Checkpoints, ExtraTensorsRoundTrip)
{
  RegistrationNetwork network(test_support::smallPreset("VM"));
  const torch::Tensor state = torch::arange(5);
  saveCheckpoint(path("extra.pt"), network, "{}", { { "rng", state } });
  EXPECT_TRUE(torch::equal(readCheckpointTensor(path("extra.pt"), "rng"), state));
  EXPECT_FALSE(readCheckpointTensor(path("extra.pt"), "absent").defined());
}

TEST_F(Checkpoints, CorruptedFileIsRefused)
{
  RegistrationNetwork network(test_support::smallPreset("TM"));
  saveCheckpoint(path("good.pt"), network);
  const auto size = fs::file_size(path("good.pt"));
  for (double where : { 0.25, 0.5, 0.75 })
  {
    fs::copy_file(path("good.pt"), path("bad.pt"), fs::copy_options::overwrite_existing);
    overwrite(path("bad.pt"), static_cast<std::uintmax_t>(where * size), 256);
    EXPECT_THROW(loadCheckpoint(path("bad.pt")), CheckpointError) << "corruption at " << where;
  }
}

TEST_F(Checkpoints, TruncatedFileIsRefused)
{
  RegistrationNetwork network(test_support::smallPreset("VM"));
  saveCheckpoint(path("model.pt"), network);
  fs::resize_file(path("model.pt"), fs::file_size(path("model.pt")) / 2);
  try
  {
    loadCheckpoint(path("model.pt"));
    FAIL() << "a truncated file loaded";
  }
  catch (const CheckpointError & error)
  {
    EXPECT_NE(std::string(error.what()).find("truncated or corrupted"), std::string::npos) << error.what();
  }
}

TEST_F(Checkpoints, OtherArchitectureIsRefused)
{
  saveCheckpoint(path("vm.pt"), RegistrationNetwork(test_support::smallPreset("VM")));
  RegistrationNetwork tm(test_support::smallPreset("TM"));
  try
  {
    loadCheckpointInto(path("vm.pt"), tm);
    FAIL() << "a VM file loaded into a TM network";
  }
  catch (const CheckpointError & error)
  {
    EXPECT_NE(std::string(error.what()).find("VM"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("TM"), std::string::npos) << error.what();
  }
}

TEST_F(Checkpoints, MissingAndForeignFilesAreRefused)
{
  EXPECT_THROW(loadCheckpoint(path("does-not-exist.pt")), CheckpointError);
  // A valid torch archive that is not an SHMoAReg model file.
  torch::save(torch::ones({ 3 }), path("tensor.pt"));
  try
  {
    loadCheckpoint(path("tensor.pt"));
    FAIL() << "a foreign archive loaded";
  }
  catch (const CheckpointError & error)
  {
    EXPECT_NE(std::string(error.what()).find("not an SHMoAReg model file"), std::string::npos) << error.what();
  }
  std::ofstream(path("text.pt")) << "hello";
  EXPECT_THROW(loadCheckpoint(path("text.pt")), CheckpointError);
}

TEST(Device, ResolvesNamesAndRefusesMissingCuda)
{
  EXPECT_EQ(resolveDevice("cpu").type(), torch::kCPU);
  EXPECT_THROW(resolveDevice("tpu"), std::invalid_argument);
  if (torch::cuda::is_available())
  {
    EXPECT_EQ(resolveDevice("auto").type(), torch::kCUDA);
    EXPECT_EQ(resolveDevice("cuda").type(), torch::kCUDA);
  }
  else
  {
    EXPECT_EQ(resolveDevice("auto").type(), torch::kCPU);
    EXPECT_THROW(resolveDevice("cuda"), std::invalid_argument);
  }
  EXPECT_THROW(setThreadCount(-1), std::invalid_argument);
}

TEST(TrainingGrid, ReadFromTheProvenanceTheTrainerWrites)
{
  const TrainingGrid current = trainingGridOf(
    R"({"network_voxel_mm": [2, 2.5, 3], "network_field_of_view_mm": [128, 160, 96], "network_box_centre": "foreground"})");
  EXPECT_EQ(current.voxelMm, (std::array<double, 3>{ 2.0, 2.5, 3.0 }));
  EXPECT_EQ(current.fieldOfViewMm, (std::array<double, 3>{ 128.0, 160.0, 96.0 }));
  EXPECT_EQ(current.boxCentre, "foreground");
  // An older file: the centre crop over the grid; the crop is the field of view where it cut
  // every axis (here 160 mm over 64 voxels: 2.5 mm, 64 x 2.5 = 160).
  const TrainingGrid older =
    trainingGridOf(R"({"training": {"centre_crop_mm": [160, 160, 160], "grid": [64, 64, 64]}})");
  EXPECT_EQ(older.voxelMm, (std::array<double, 3>{ 2.5, 2.5, 2.5 }));
  EXPECT_EQ(older.fieldOfViewMm, (std::array<double, 3>{ 160.0, 160.0, 160.0 }));
  EXPECT_EQ(older.boxCentre, "image");
  // Not said, or said wrongly: zeros and "image", never an exception.
  for (const char * text : { "{}",
                             "not json",
                             R"({"network_voxel_mm": [2, 0, 2]})",
                             R"({"network_voxel_mm": "2"})",
                             R"({"network_voxel_mm": [2, 2]})",
                             "[1, 2, 3]" })
  {
    const TrainingGrid unknown = trainingGridOf(text);
    EXPECT_EQ(unknown.voxelMm, (std::array<double, 3>{})) << text;
    EXPECT_EQ(unknown.fieldOfViewMm, (std::array<double, 3>{})) << text;
    EXPECT_EQ(unknown.boxCentre, "image") << text;
  }
}

TEST(TrainingGrid, TravelsWithTheLoadedModel)
{
  const auto folder = fs::temp_directory_path() / ("shmoareg_training_grid_test_" + std::to_string(::getpid()));
  fs::create_directories(folder);
  const std::string file = (folder / "model.pt").string();
  RegistrationNetwork network(makePreset("VM"));
  saveCheckpoint(file, network, R"({"network_voxel_mm": [1.5, 1.5, 1.5]})");
  EXPECT_EQ(loadCheckpoint(file).trainingGrid.voxelMm, (std::array<double, 3>{ 1.5, 1.5, 1.5 }));
  fs::remove_all(folder);
}
