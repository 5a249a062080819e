#include "Checkpoint.h"
#include "Dataset.h"
#include "Evaluation.h"
#include "FieldIntegration.h"
#include "SpatialTransformer.h"
#include "SyntheticDataset.h"
#include "Trainer.h"

#include "itkImageFileWriter.h"
#include "itkSHMoARegNetworkGrid.h"
#include "itkImageRegionIterator.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkVectorLinearInterpolateImageFunction.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <fstream>
#include <sstream>

using namespace shmoareg;
using namespace shmoareg::training;
namespace fs = std::filesystem;

namespace {
class Folder : public ::testing::Test
{
protected:
  void
  SetUp() override
  {
    ensureImageIO();
    m_Root = fs::temp_directory_path() /
             ("shmoareg_training_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) +
              "_" + std::to_string(::getpid()));
    fs::remove_all(m_Root);
    fs::create_directories(m_Root);
  }
  void
  TearDown() override
  {
    fs::remove_all(m_Root);
  }
  std::string
  path(const std::string & name) const
  {
    return (m_Root / name).string();
  }
  fs::path m_Root;
};

template <typename TImage>
void
writeSmall(const std::string & path, typename TImage::PixelType value, unsigned size = 6, double spacing = 1.0)
{
  auto image = TImage::New();
  typename TImage::SizeType s;
  s.Fill(size);
  image->SetRegions(s);
  typename TImage::SpacingType sp;
  sp.Fill(spacing);
  image->SetSpacing(sp);
  image->Allocate();
  image->FillBuffer(value);
  fs::create_directories(fs::path(path).parent_path());
  itk::WriteImage(image, path);
}

std::string
errorOf(const std::function<void()> & call)
{
  try
  {
    call();
  }
  catch (const std::exception & error)
  {
    return error.what();
  }
  return "";
}

SyntheticDatasetOptions
smallSynthetic()
{
  SyntheticDatasetOptions options;
  options.spacing = 3.0;
  return options;
}

// Without intensity augmentation the tiny pair's MSE tracks the alignment closely.
SyntheticDatasetOptions
cleanSynthetic()
{
  SyntheticDatasetOptions options = smallSynthetic();
  options.gammaStd = 0.0;
  options.biasStd = 0.0;
  options.noiseStd = 0.0;
  return options;
}

// Two synthetic subjects used both for training and validation: the tiny pair of the tests.
std::string
writeTinyPairManifest(const std::string & folder)
{
  const SyntheticDatasetOptions options = cleanSynthetic();
  DatasetManifest manifest;
  manifest.name = "tiny pair";
  for (int i = 0; i < 2; ++i)
  {
    const Subject s = generateSyntheticSubject(options, syntheticSubjectSeed(5, "train", i), "s" + std::to_string(i));
    const std::string image = folder + "/s" + std::to_string(i) + "_image.nii.gz";
    const std::string labels = folder + "/s" + std::to_string(i) + "_labels.nii.gz";
    itk::WriteImage(s.image, image, true);
    itk::WriteImage(s.labels, labels, true);
    manifest.subjects.push_back({ s.id, image, labels, "train" });
    manifest.subjects.push_back({ s.id + "v", image, labels, "val" });
  }
  writeManifest(manifest, folder + "/manifest.json");
  return folder + "/manifest.json";
}

// The tiny pair with the subjects' known fields in the manifest (to_atlas, from_atlas).
std::string
writeTinyPairManifestWithKnownFields(const std::string & folder)
{
  const SyntheticDatasetOptions options = cleanSynthetic();
  DatasetManifest manifest;
  manifest.name = "tiny pair with known fields";
  for (int i = 0; i < 2; ++i)
  {
    const Subject s =
      generateSyntheticSubject(options, syntheticSubjectSeed(5, "train", i), "s" + std::to_string(i), true);
    const std::string prefix = folder + "/s" + std::to_string(i);
    itk::WriteImage(s.image, prefix + "_image.nii.gz", true);
    itk::WriteImage(s.labels, prefix + "_labels.nii.gz", true);
    itk::WriteImage(s.toAtlas, prefix + "_to_atlas.nii.gz", true);
    itk::WriteImage(s.fromAtlas, prefix + "_from_atlas.nii.gz", true);
    for (const char * split : { "train", "val" })
      manifest.subjects.push_back({ s.id + split,
                                    prefix + "_image.nii.gz",
                                    prefix + "_labels.nii.gz",
                                    split,
                                    prefix + "_to_atlas.nii.gz",
                                    prefix + "_from_atlas.nii.gz" });
  }
  writeManifest(manifest, folder + "/manifest.json");
  return folder + "/manifest.json";
}

TrainingOptions
tinyTraining(const std::string & manifest, const std::string & output)
{
  TrainingOptions options;
  options.preset = "VM";
  options.data = manifest;
  options.grid = { 32, 32, 32 };
  options.learningRate = 3e-3;
  options.validationInterval = 1000;
  options.checkpointInterval = 1000;
  options.logInterval = 1000;
  options.output = output;
  options.threads = 2;
  return options;
}
} // namespace

TEST_F(Folder, ManifestJsonAndCsvRoundTrip)
{
  writeSmall<ImageType>(path("a.nii.gz"), 1.0f);
  writeSmall<LabelImageType>(path("a_labels.nii.gz"), 2);
  writeSmall<ImageType>(path("b.nii.gz"), 1.0f);
  std::ofstream(path("m.csv")) << "id,image,labels,split\na,a.nii.gz,a_labels.nii.gz,train\nb,b.nii.gz,,test\n";
  const DatasetManifest csv = readManifest(path("m.csv"));
  ASSERT_EQ(csv.subjects.size(), 2u);
  EXPECT_EQ(csv.subjects[0].image, path("a.nii.gz")); // relative to the manifest
  EXPECT_EQ(csv.subjects[1].labels, "");
  EXPECT_EQ(csv.split("test").size(), 1u);
  writeManifest(csv, path("m.json"));
  const DatasetManifest json = readManifest(path("m.json"));
  EXPECT_EQ(json.subjects[0].labels, csv.subjects[0].labels);
  const Subject a = loadSubject(json.subjects[0]);
  EXPECT_EQ(a.labels->GetPixel({ { 1, 2, 3 } }), 2);
}

// A manifest written with paths relative to the working directory (synthesize --output data)
// reads back from anywhere: files in its folder are stored relative to it, others absolute.
TEST_F(Folder, ManifestPathsAreStoredRelativeToItsFolder)
{
  fs::create_directories(path("data"));
  writeSmall<ImageType>(path("data/a.nii.gz"), 1.0f);
  writeSmall<LabelImageType>(path("outside_labels.nii.gz"), 2);
  {
    // The paths as a user gives them, relative to the working directory (restored on leaving).
    struct WorkingDirectory
    {
      fs::path before = fs::current_path();
      ~WorkingDirectory() { fs::current_path(before); }
    } restore;
    fs::current_path(m_Root);
    DatasetManifest manifest;
    manifest.subjects.push_back({ "a", "data/a.nii.gz", "outside_labels.nii.gz", "train" });
    writeManifest(manifest, "data/manifest.json");
  }

  nlohmann::json written;
  std::ifstream(path("data/manifest.json")) >> written;
  EXPECT_EQ(written["subjects"][0]["image"], "a.nii.gz");
  const fs::path labels = written["subjects"][0]["labels"].get<std::string>();
  EXPECT_TRUE(labels.is_absolute()) << labels;
  EXPECT_TRUE(fs::equivalent(labels, path("outside_labels.nii.gz"))) << labels;
  const DatasetManifest read = readManifest(path("data/manifest.json"));
  ASSERT_EQ(read.subjects.size(), 1u);
  EXPECT_TRUE(fs::equivalent(read.subjects[0].image, path("data/a.nii.gz")));
  EXPECT_TRUE(fs::equivalent(read.subjects[0].labels, path("outside_labels.nii.gz")));
}

TEST_F(Folder, ManifestErrorsNameTheProblem)
{
  writeSmall<ImageType>(path("a.nii.gz"), 1.0f);
  std::ofstream(path("missing.csv")) << "id,image,labels,split\na,a.nii.gz,,train\nb,nothere.nii.gz,,train\n";
  EXPECT_NE(errorOf([&] { readManifest(path("missing.csv")); }).find("nothere.nii.gz"), std::string::npos);
  std::ofstream(path("badsplit.csv")) << "id,image,labels,split\na,a.nii.gz,,training\n";
  EXPECT_NE(errorOf([&] { readManifest(path("badsplit.csv")); }).find("split 'training'"), std::string::npos);
  std::ofstream(path("header.csv")) << "name,file\n";
  EXPECT_NE(errorOf([&] { readManifest(path("header.csv")); }).find("header"), std::string::npos);
  std::ofstream(path("short.csv")) << "id,image,labels,split\na,a.nii.gz\n";
  EXPECT_NE(errorOf([&] { readManifest(path("short.csv")); }).find("line 2"), std::string::npos);
  EXPECT_NE(errorOf([&] { readManifest(path("nope.json")); }).find("cannot read"), std::string::npos);

  // An empty split.
  std::ofstream(path("train-only.csv")) << "id,image,labels,split\na,a.nii.gz,,train\n";
  EXPECT_NE(errorOf([&] {
              readManifest(path("train-only.csv")).requireSplits({ "train", "val" });
            }).find("empty 'val' split"),
            std::string::npos);

  // A label map on another grid.
  writeSmall<LabelImageType>(path("other_grid.nii.gz"), 1, 6, 2.0);
  std::ofstream(path("grid.csv")) << "id,image,labels,split\na,a.nii.gz,other_grid.nii.gz,train\n";
  EXPECT_NE(errorOf([&] { loadSubject(readManifest(path("grid.csv")).subjects[0]); }).find("not on the grid"),
            std::string::npos);

  // A label map with non-integer values.
  writeSmall<ImageType>(path("fractional.nii.gz"), 1.5f);
  EXPECT_NE(errorOf([&] { readLabelMap(path("fractional.nii.gz")); }).find("1.5"), std::string::npos);
}

TEST_F(Folder, PublicLayoutReaders)
{
  // Learn2Reg OASIS: imagesTr / labelsTr.
  for (int i = 1; i <= 5; ++i)
  {
    const std::string name = "OASIS_000" + std::to_string(i) + "_0000.nii.gz";
    writeSmall<ImageType>(path("oasis/imagesTr/" + name), 1.0f);
    writeSmall<LabelImageType>(path("oasis/labelsTr/" + name), 1);
  }
  const DatasetManifest oasis = scanLearn2RegOASIS(path("oasis"), 3, 1, 1);
  EXPECT_EQ(oasis.split("train").size(), 3u);
  EXPECT_EQ(oasis.split("val").size(), 1u);
  EXPECT_EQ(oasis.split("test")[0].id, "OASIS_0005_0000");
  EXPECT_EQ(oasis.subjects[0].labels, path("oasis/labelsTr/OASIS_0001_0000.nii.gz"));

  // BTCV: img/imgXXXX, label/labelXXXX, anisotropic spacing kept.
  for (int i = 1; i <= 4; ++i)
  {
    writeSmall<ImageType>(path("btcv/img/img000" + std::to_string(i) + ".nii.gz"), 1.0f, 6, 3.0);
    writeSmall<LabelImageType>(path("btcv/label/label000" + std::to_string(i) + ".nii.gz"), 1, 6, 3.0);
  }
  const DatasetManifest btcv = scanBTCV(path("btcv"), 2, 1, 1);
  EXPECT_EQ(btcv.split("train").size(), 2u);
  EXPECT_EQ(btcv.subjects[3].labels, path("btcv/label/label0004.nii.gz"));
  EXPECT_EQ(loadSubject(btcv.subjects[0]).image->GetSpacing()[0], 3.0);

  EXPECT_NE(errorOf([&] { scanBTCV(path("oasis")); }).find("not the BTCV layout"), std::string::npos);
  EXPECT_NE(errorOf([&] { scanLearn2RegOASIS(path("btcv")); }).find("not Learn2Reg"), std::string::npos);
}

TEST(SyntheticDataset, SeededAndSplitsNeverShareSeeds)
{
  const SyntheticDatasetOptions options = smallSynthetic();
  const Subject a = generateSyntheticSubject(options, 42, "a");
  const Subject b = generateSyntheticSubject(options, 42, "b");
  const Subject c = generateSyntheticSubject(options, 43, "c");
  const size_t n = a.image->GetBufferedRegion().GetNumberOfPixels();
  EXPECT_TRUE(std::equal(a.image->GetBufferPointer(), a.image->GetBufferPointer() + n, b.image->GetBufferPointer()));
  EXPECT_FALSE(std::equal(a.image->GetBufferPointer(), a.image->GetBufferPointer() + n, c.image->GetBufferPointer()));
  EXPECT_EQ(a.image->GetSpacing()[0], 3.0);
  ASSERT_TRUE(a.labels);
  EXPECT_EQ(a.labels->GetLargestPossibleRegion(), a.image->GetLargestPossibleRegion());

  std::set<uint64_t> seeds;
  for (const char * split : { "train", "val", "test" })
    for (size_t i = 0; i < 100; ++i)
      seeds.insert(syntheticSubjectSeed(1, split, i));
  EXPECT_EQ(seeds.size(), 300u);

  SyntheticDatasetOptions anisotropic = options;
  anisotropic.anisotropic = true;
  const Subject d = generateSyntheticSubject(anisotropic, 42, "d");
  EXPECT_EQ(d.image->GetSpacing()[0], 3.0);
  EXPECT_EQ(d.image->GetSpacing()[2], 2.0);
}

TEST(SyntheticDataset, KnownFieldsGiveThePairsTrueField)
{
  // Each subject's transform to the atlas and its inverse: a subject against itself has a zero
  // true field; for two subjects the true field, composed here by plain sampling, carries the
  // moving labels onto the fixed ones far better than the identity (the fields are transforms,
  // not just numbers), and endPointError measures it as zero and the identity as mm.
  const SyntheticDatasetOptions options = smallSynthetic();
  const Subject a = generateSyntheticSubject(options, 42, "a", true);
  const Subject b = generateSyntheticSubject(options, 43, "b", true);
  const Subject plain = generateSyntheticSubject(options, 42, "plain");
  ASSERT_TRUE(a.toAtlas && a.fromAtlas && b.toAtlas && b.fromAtlas);
  EXPECT_FALSE(plain.toAtlas || plain.fromAtlas);
  const size_t n = a.image->GetBufferedRegion().GetNumberOfPixels();
  EXPECT_TRUE(
    std::equal(a.image->GetBufferPointer(), a.image->GetBufferPointer() + n, plain.image->GetBufferPointer()));
  EXPECT_EQ(a.toAtlas->GetLargestPossibleRegion(), a.image->GetLargestPossibleRegion());

  EXPECT_LT(endPointError(a.labels, nullptr, a.toAtlas, a.fromAtlas), 0.1);

  using FieldType = DisplacementFieldType;
  auto truth = FieldType::New();
  truth->CopyInformation(a.labels);
  truth->SetRegions(a.labels->GetLargestPossibleRegion());
  truth->Allocate();
  auto sampleFromAtlas = itk::VectorLinearInterpolateImageFunction<FieldType, double>::New();
  sampleFromAtlas->SetInputImage(b.fromAtlas);
  itk::ImageRegionIteratorWithIndex<FieldType> it(truth, truth->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    itk::Point<double, 3> x, y;
    truth->TransformIndexToPhysicalPoint(it.GetIndex(), x);
    const auto t = a.toAtlas->GetPixel(it.GetIndex());
    for (unsigned d = 0; d < 3; ++d)
      y[d] = x[d] + t[d];
    const auto f = sampleFromAtlas->IsInsideBuffer(y) ? sampleFromAtlas->Evaluate(y) : itk::Vector<double, 3>(0.0);
    FieldType::PixelType u;
    for (unsigned d = 0; d < 3; ++d)
      u[d] = static_cast<float>(y[d] + f[d] - x[d]);
    it.Set(u);
  }
  const double identityError = endPointError(a.labels, nullptr, a.toAtlas, b.fromAtlas);
  EXPECT_GT(identityError, 1.0);
  EXPECT_LT(endPointError(a.labels, truth, a.toAtlas, b.fromAtlas), 1e-3);
  const PairScore identity = scoreRegistration(a.labels, b.labels, nullptr);
  const PairScore exact = scoreRegistration(a.labels, b.labels, truth);
  std::cout << "identity: Dice " << identity.dice << ", EPE " << identityError << " mm; true field: Dice " << exact.dice
            << "\n";
  EXPECT_GT(exact.dice, identity.dice + 0.2);
  EXPECT_GT(exact.dice, 0.8);

  // Mirrored subjects' known fields are to and from the mirrored atlas: a subject's own fields
  // undo each other, and two mirrored subjects differ.
  SyntheticDatasetOptions flipped = options;
  flipped.flipFraction = 1.0;
  const Subject c = generateSyntheticSubject(flipped, 42, "c", true);
  const Subject d = generateSyntheticSubject(flipped, 43, "d", true);
  EXPECT_TRUE(c.mirrored && d.mirrored && !a.mirrored);
  EXPECT_LT(endPointError(c.labels, nullptr, c.toAtlas, c.fromAtlas), 0.1);
  EXPECT_GT(endPointError(c.labels, nullptr, c.toAtlas, d.fromAtlas), 1.0);
}

TEST_F(Folder, AFewIterationsLowerTheLossAndRaiseDice)
{
  const std::string manifest = writeTinyPairManifest(m_Root.string());
  TrainingOptions options = tinyTraining(manifest, path("run"));
  options.iterations = 80;
  options.learningRate = 1e-3; // at 3e-3 the tiny pair overshoots: Dice oscillates round the identity's
  options.validationInterval = 20;
  std::ostringstream log;
  const TrainingResult result = train(options, false, log);
  std::cout << log.str();
  EXPECT_EQ(result.iterations, 80);
  EXPECT_LT(result.lastValidationLoss, 0.9 * result.firstValidationLoss);
  EXPECT_GT(result.lastValidationDice, result.identityDice);
  EXPECT_TRUE(fs::exists(path("run/model.pt")));
  EXPECT_TRUE(fs::exists(path("run/log.csv")));
  // The model file describes its training.
  std::string provenance;
  readCheckpointConfig(path("run/model.pt"), &provenance);
  EXPECT_NE(provenance.find("\"iterations\":80"), std::string::npos) << provenance;
  EXPECT_NE(provenance.find("\"network_voxel_mm\""), std::string::npos) << provenance;
  EXPECT_NE(provenance.find("\"network_field_of_view_mm\""), std::string::npos) << provenance;
  EXPECT_NE(provenance.find("\"network_box_centre\":\"image\""), std::string::npos) << provenance;
  // The model file holds no optimiser state: well under the checkpoint (weights + 2 Adam moments).
  EXPECT_LT(fs::file_size(path("run/model.pt")), fs::file_size(path("run/checkpoint.pt")) / 2);
}

TEST_F(Folder, ResumingContinuesExactly)
{
  const std::string manifest = writeTinyPairManifest(m_Root.string());
  // A small SHMoAReg: drop path and MoA's noisy gating draw random numbers every step.
  auto options = [&](const std::string & output, int64_t iterations) {
    TrainingOptions o = tinyTraining(manifest, output);
    o.preset = "SHMoAReg";
    o.network = { { "embed_dim", 12 }, { "heads", { 2, 2, 2, 2 } }, { "moa_experts", 4 },
                  { "moa_top_k", 2 },  { "window", { 3, 3, 3 } },   { "decoder_channels", { 4, 8, 8, 8, 8, 8 } } };
    o.iterations = iterations;
    o.checkpointInterval = 3;
    return o;
  };
  std::ostringstream log;
  train(options(path("straight"), 6), false, log);
  train(options(path("resumed"), 3), false, log);
  const TrainingResult resumed = train(options(path("resumed"), 6), true, log);
  EXPECT_EQ(resumed.iterations, 6);
  const LoadedModel a = loadCheckpoint(path("straight/model.pt"));
  const LoadedModel b = loadCheckpoint(path("resumed/model.pt"));
  const auto pa = a.network->named_parameters(), pb = b.network->named_parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (const auto & p : pa)
    EXPECT_TRUE(torch::equal(p.value(), pb[p.key()])) << p.key() << " differs after resuming";
  // The straight run changed the weights (the comparison is not between two untrained nets).
  torch::manual_seed(0);
  EXPECT_GT(a.network->parameters().size(), 0u);

  // Nothing to resume from.
  EXPECT_NE(errorOf([&] { train(options(path("never"), 3), true, log); }).find("nothing to resume"), std::string::npos);
}

TEST(TrainingData, CentreCropAndNetworkGrid)
{
  // A 40 x 30 x 20 image of spacing 2: a 40 mm crop keeps the middle 20 voxels along i.
  auto image = ImageType::New();
  image->SetRegions(ImageType::SizeType{ { 40, 30, 20 } });
  ImageType::SpacingType spacing;
  spacing.Fill(2.0);
  image->SetSpacing(spacing);
  image->Allocate();
  for (itk::IndexValueType i = 0; i < 40; ++i)
    for (itk::IndexValueType j = 0; j < 30; ++j)
      for (itk::IndexValueType k = 0; k < 20; ++k)
        image->SetPixel({ { i, j, k } }, static_cast<float>(i));
  Subject subject{ "s", image, nullptr };
  const PreparedSubject prepared = prepareSubject(subject, { 20, 10, 10 }, { 40.0, 0.0, 0.0 });
  ASSERT_EQ(prepared.image.sizes(), torch::IntArrayRef({ 1, 1, 10, 10, 20 }));
  // The 40 mm box holds i = 10 .. 29 (0 on the other axes: the whole axis), the same voxels on
  // the 20-voxel grid: a ramp from 0 to 1.
  EXPECT_NEAR(prepared.image[0][0][5][5][0].item<float>(), 0.0f, 1e-5f);
  EXPECT_NEAR(prepared.image[0][0][5][5][19].item<float>(), 1.0f, 1e-5f);
  EXPECT_NEAR(prepared.voxelMm[0], 2.0, 1e-12);
  EXPECT_NEAR(prepared.voxelMm[1], 6.0, 1e-12);

  // A box larger than the image reaches past it (zeros there, as at inference): 120 mm over 20
  // voxels of 6 mm, centred on the 80 mm image, the first and last 3 voxels outside it.
  const PreparedSubject padded = prepareSubject(subject, { 20, 10, 10 }, { 120.0, 0.0, 0.0 });
  // On the foreground (the voxels brighter than the mean: i = 20 .. 39, centred at 29.5, x = 59 mm)
  // a 40 mm box holds i = 20 .. 39: the upper half of the ramp, from 0 to 1 again.
  const PreparedSubject onForeground = prepareSubject(subject, { 20, 10, 10 }, { 40.0, 0.0, 0.0 }, "foreground");
  EXPECT_NEAR(onForeground.image[0][0][5][5][0].item<float>(), 0.0f, 1e-5f);
  EXPECT_NEAR(onForeground.image[0][0][5][5][19].item<float>(), 1.0f, 1e-5f);
  {
    const auto centre = itk::SHMoARegNetworkGrid::ForegroundCentre(image.GetPointer());
    EXPECT_NEAR(centre[0], 59.0, 1e-9); // i = 29.5 at 2 mm from origin 0
    EXPECT_NEAR(centre[1], 29.0, 1e-9); // every j and k: the whole extent's centre
    EXPECT_NEAR(centre[2], 19.0, 1e-9);
  }
  EXPECT_NEAR(padded.voxelMm[0], 6.0, 1e-12);
  EXPECT_EQ(padded.image[0][0][5][5][0].item<float>(), 0.0f);
  EXPECT_EQ(padded.image[0][0][5][5][19].item<float>(), 0.0f);
  EXPECT_GT(padded.image[0][0][5][5][10].item<float>(), 0.3f);
}

TEST(TrainingOptions, ConfigurationErrors)
{
  TrainingOptions o;
  EXPECT_THROW(applyTrainingOptions({ { "iterations", "many" } }, o), std::invalid_argument);
  EXPECT_THROW(applyTrainingOptions({ { "similarity", "mi" } }, o), std::invalid_argument);
  EXPECT_THROW(applyTrainingOptions({ { "no_such_field", 1 } }, o), std::invalid_argument);
  EXPECT_THROW(applyTrainingOptions({ { "grid", 4 } }, o), std::invalid_argument);
  // Numbers are read strictly: no truncation, no value outside the field's type (the fuzzers'
  // 5e30 as an unsigned count was undefined behaviour).
  EXPECT_THROW(applyTrainingOptions({ { "iterations", 2.5 } }, o), std::invalid_argument);
  EXPECT_THROW(applyTrainingOptions({ { "validation_pairs", 5e30 } }, o), std::invalid_argument);
  EXPECT_THROW(applyTrainingOptions({ { "validation_pairs", -1 } }, o), std::invalid_argument);
  EXPECT_THROW(applyTrainingOptions({ { "threads", 3000000000LL } }, o), std::invalid_argument);
  EXPECT_THROW(applyTrainingOptions({ { "grid", { 48, 48 } } }, o), std::invalid_argument);
  EXPECT_THROW(applyTrainingOptions({ { "synthetic", { { "train", 1e30 } } } }, o), std::invalid_argument);
  TrainingOptions misplaced; // (a refused value stays in the options it was applied to)
  EXPECT_THROW(applyTrainingOptions({ { "box_centre", "brain" } }, misplaced), std::invalid_argument);
  applyTrainingOptions({ { "grid", 48 }, { "similarity", "ncc" }, { "lambda_r", 0.1 } }, o);
  EXPECT_EQ(o.grid[2], 48);
  EXPECT_EQ(o.weights.similarity, Similarity::LocalNormalizedCrossCorrelation);
  EXPECT_EQ(o.weights.regularization, 0.1);
}

TEST(TrainingOptions, LearningRateSchedules)
{
  TrainingOptions o;
  applyTrainingOptions({ { "learning_rate", 1e-3 },
                         { "lr_schedule", "cosine" },
                         { "warmup_iterations", 10 },
                         { "min_learning_rate", 1e-4 },
                         { "iterations", 110 } },
                       o);
  EXPECT_NEAR(scheduledLearningRate(o, 0), 1e-4, 1e-12); // warm-up: (i + 1) / 10 of the rate
  EXPECT_NEAR(scheduledLearningRate(o, 9), 1e-3, 1e-12);
  EXPECT_NEAR(scheduledLearningRate(o, 10), 1e-3, 1e-12);   // cosine from the top ...
  EXPECT_NEAR(scheduledLearningRate(o, 60), 5.5e-4, 1e-12); // ... half way ...
  EXPECT_NEAR(scheduledLearningRate(o, 110), 1e-4, 1e-12);  // ... to the floor
  applyTrainingOptions({ { "lr_schedule", "constant" } }, o);
  EXPECT_NEAR(scheduledLearningRate(o, 60), 1e-3, 1e-12);
  EXPECT_THROW(applyTrainingOptions({ { "lr_schedule", "sawtooth" } }, o), std::invalid_argument);
  EXPECT_THROW(applyTrainingOptions({ { "min_learning_rate", 1.0 } }, o), std::invalid_argument);
  EXPECT_THROW(applyTrainingOptions({ { "lambda_dice", -1.0 } }, o), std::invalid_argument);
  EXPECT_THROW(applyTrainingOptions({ { "synthetic", { { "flip_fraction", 2.0 } } } }, o), std::invalid_argument);
}

TEST(SyntheticDataset, TissueLabelsLabelContrastAndMirroring)
{
  SyntheticDatasetOptions options = smallSynthetic();
  options.translationMm = 0.0;
  options.rotationDegrees = 0.0;
  options.scale = 0.0;
  options.velocityStd = 1e-6; // (nearly) the atlas itself
  const Subject plain = generateSyntheticSubject(options, 42, "plain");
  options.tissueLabels = true;
  const Subject tissue = generateSyntheticSubject(options, 42, "tissue");
  // The same image; the labels add the three tissue classes where AAL is 0 inside the brain.
  const size_t n = plain.image->GetBufferedRegion().GetNumberOfPixels();
  EXPECT_TRUE(
    std::equal(plain.image->GetBufferPointer(), plain.image->GetBufferPointer() + n, tissue.image->GetBufferPointer()));
  std::map<unsigned short, size_t> count;
  size_t changedAal = 0;
  for (size_t i = 0; i < n; ++i)
  {
    const unsigned short a = plain.labels->GetBufferPointer()[i], b = tissue.labels->GetBufferPointer()[i];
    ++count[b];
    changedAal += a != 0 && a != b;
  }
  EXPECT_EQ(changedAal, 0u);
  for (unsigned short t : { 201, 202, 203 })
    EXPECT_GT(count[t], n / 500) << "tissue class " << t; // AAL already covers most grey matter
  // WM (203) is brighter than CSF (201) in the T1 atlas.
  double csf = 0, wm = 0;
  for (size_t i = 0; i < n; ++i)
  {
    const unsigned short b = tissue.labels->GetBufferPointer()[i];
    csf += b == 201 ? tissue.image->GetBufferPointer()[i] / count[201] : 0.0;
    wm += b == 203 ? tissue.image->GetBufferPointer()[i] / count[203] : 0.0;
  }
  EXPECT_GT(wm, csf);

  // Label contrast: the image is a function of the labels (one value per label before blur,
  // noise and bias: with those off and no blur beyond a tenth of a voxel, nearly constant).
  options.labelContrastFraction = 1.0;
  options.gammaStd = options.biasStd = options.noiseStd = 0.0;
  const Subject drawn = generateSyntheticSubject(options, 42, "drawn");
  EXPECT_FALSE(
    std::equal(drawn.image->GetBufferPointer(), drawn.image->GetBufferPointer() + n, tissue.image->GetBufferPointer()));
  EXPECT_TRUE(std::equal(
    drawn.labels->GetBufferPointer(), drawn.labels->GetBufferPointer() + n, tissue.labels->GetBufferPointer()));

  // Mirroring: Precentral_L (1) of the mirrored subject lies where the plain one has
  // Precentral_R (2), mirrored along index axis 0.
  options.labelContrastFraction = 0.0;
  options.tissueLabels = false;
  options.flipFraction = 1.0;
  const Subject mirrored = generateSyntheticSubject(options, 42, "mirrored");
  const auto size = plain.labels->GetLargestPossibleRegion().GetSize();
  size_t agree = 0, left = 0;
  for (itk::IndexValueType k = 0; k < static_cast<itk::IndexValueType>(size[2]); ++k)
    for (itk::IndexValueType j = 0; j < static_cast<itk::IndexValueType>(size[1]); ++j)
      for (itk::IndexValueType i = 0; i < static_cast<itk::IndexValueType>(size[0]); ++i)
        if (mirrored.labels->GetPixel({ { i, j, k } }) == 1)
        {
          ++left;
          const itk::IndexValueType mi = static_cast<itk::IndexValueType>(size[0]) - 1 - i;
          agree += plain.labels->GetPixel({ { mi, j, k } }) == 2;
        }
  ASSERT_GT(left, 50u);
  EXPECT_GT(static_cast<double>(agree) / left, 0.8); // resampling onto the 3 mm grid blurs edges

  options.flipFraction = 0.0;
  options.labelContrastFraction = 0.5; // needs tissue labels
  EXPECT_NE(errorOf([&] { generateSyntheticSubject(options, 42, "x"); }).find("tissue_labels"), std::string::npos);
}

TEST(SyntheticDataset, KnownFieldsOnTheNetworkGridAlignThePair)
{
  // On the network grid (a centre crop, voxels of the network's layout) the composed known
  // fields carry the moving labels onto the fixed ones: the trainer's target is a registration.
  const SyntheticDatasetOptions options = smallSynthetic();
  const Subject a = generateSyntheticSubject(options, 42, "a", true);
  const Subject b = generateSyntheticSubject(options, 43, "b", true);
  const PreparedSubject f = prepareSubject(a, { 40, 48, 40 }, { 150.0, 180.0, 150.0 });
  const PreparedSubject m = prepareSubject(b, { 40, 48, 40 }, { 150.0, 180.0, 150.0 });
  ASSERT_TRUE(f.toAtlas.defined() && m.fromAtlas.defined());
  EXPECT_EQ(f.toAtlas.sizes(), torch::IntArrayRef({ 1, 3, 40, 48, 40 }));
  const torch::Tensor truth = composeDisplacements(m.fromAtlas, f.toAtlas);
  const double identity = meanDice(m.labels, f.labels);
  const double aligned = meanDice(warp(m.labels, truth, Interpolation::Nearest), f.labels);
  std::cout << "network grid: identity Dice " << identity << ", true field " << aligned << "\n";
  EXPECT_GT(aligned, identity + 0.2);
}

TEST_F(Folder, KnownFieldTermLowersTheEndPointError)
{
  // The manifest keeps the known fields; with lambda_known_field the validation pairs' squared
  // end-point error (voxels^2, log.csv's known_field) falls, and without the files the term is 0.
  const std::string manifest = writeTinyPairManifestWithKnownFields(m_Root.string());
  const DatasetManifest read = readManifest(manifest);
  ASSERT_FALSE(read.subjects.front().toAtlas.empty());
  EXPECT_NE(read.subjects.front().fromAtlas.find("_from_atlas.nii.gz"), std::string::npos);
  TrainingOptions options = tinyTraining(manifest, path("known"));
  options.iterations = 40;
  options.validationInterval = 40;
  options.learningRate = 1e-3; // a squared error: the tiny test's 3e-3 oscillates
  options.weights.knownField = 1.0;
  std::ostringstream log;
  train(options, false, log);
  std::ifstream csv(path("known/log.csv"));
  std::string header, line;
  std::getline(csv, header);
  ASSERT_EQ(header.substr(header.rfind(',') + 1), "known_field") << header;
  std::vector<double> validation;
  while (std::getline(csv, line))
    if (line.find(",val,") != std::string::npos)
      validation.push_back(std::stod(line.substr(line.rfind(',') + 1)));
  ASSERT_EQ(validation.size(), 2u);
  std::cout << "known-field term (voxels^2): " << validation.front() << " -> " << validation.back() << "\n";
  EXPECT_GT(validation.front(), 0.5);
  EXPECT_LT(validation.back(), validation.front());

  fs::create_directories(path("plain"));
  const std::string plain = writeTinyPairManifest(path("plain"));
  options = tinyTraining(plain, path("plain-run"));
  options.iterations = 2;
  options.weights.knownField = 1.0;
  const TrainingResult without = train(options, false, log);
  EXPECT_EQ(without.iterations, 2);
  std::ifstream plainCsv(path("plain-run/log.csv"));
  std::getline(plainCsv, header);
  while (std::getline(plainCsv, line))
    EXPECT_EQ(std::stod(line.substr(line.rfind(',') + 1)), 0.0) << line;
}

TEST_F(Folder, DiceTermAndContinuingFromAModel)
{
  const std::string manifest = writeTinyPairManifest(m_Root.string());
  TrainingOptions options = tinyTraining(manifest, path("first"));
  options.iterations = 30;
  options.validationInterval = 30;
  options.weights.dice = 1.0;
  options.weights.similarity = Similarity::LocalNormalizedCrossCorrelation;
  options.learningRateSchedule = "cosine";
  options.warmupIterations = 5;
  std::ostringstream log;
  const TrainingResult first = train(options, false, log);
  EXPECT_NE(log.str().find("Dice term on"), std::string::npos) << log.str();
  EXPECT_GT(first.lastValidationDice, first.identityDice);
  // The log has the Dice term and the learning rate as columns.
  std::ifstream csv(path("first/log.csv"));
  std::string header, row;
  std::getline(csv, header);
  EXPECT_NE(header.find("dice_loss,learning_rate"), std::string::npos) << header;

  // Continue from the exported model: the count goes on from 30, with a fresh optimiser.
  options.initialModel = path("first/model.pt");
  options.output = path("second");
  options.iterations = 40;
  const TrainingResult second = train(options, false, log);
  EXPECT_EQ(second.iterations, 40);
  std::string provenance;
  readCheckpointConfig(path("second/model.pt"), &provenance);
  EXPECT_NE(provenance.find("\"iterations\":40"), std::string::npos) << provenance;
  EXPECT_NE(provenance.find("\"initial_model\""), std::string::npos);
  options.iterations = 30; // no more than the model has
  options.output = path("third");
  EXPECT_NE(errorOf([&] { train(options, false, log); }).find("has 30 iterations already"), std::string::npos);
}
