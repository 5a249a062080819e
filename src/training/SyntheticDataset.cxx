#include "SyntheticDataset.h"

#include "itkAffineTransform.h"
#include "itkCompositeTransform.h"
#include "itkDisplacementFieldTransform.h"
#include "itkExponentialDisplacementFieldImageFilter.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionIterator.h"
#include "itkNearestNeighborInterpolateImageFunction.h"
#include "itkResampleImageFilter.h"

#include <filesystem>
#include <mutex>
#include <random>

namespace shmoareg::training {

namespace {
using FieldType = itk::Image<itk::Vector<double, 3>, 3>;
using Random = std::mt19937_64;

uint64_t
splitmix(uint64_t x)
{
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

struct Atlas
{
  ImageType::Pointer image;
  LabelImageType::Pointer labels;
};

// Atlases are read once per process and options.
const Atlas &
loadAtlas(const SyntheticDatasetOptions & options)
{
  static std::mutex mutex;
  static std::map<std::string, Atlas> cache;
  std::lock_guard<std::mutex> lock(mutex);
  ensureImageIO();
  const std::string key = options.atlasImage + "|" + options.atlasLabels;
  auto found = cache.find(key);
  if (found != cache.end())
    return found->second;
  Atlas atlas;
  try
  {
    atlas.image = itk::ReadImage<ImageType>(options.atlasImage);
  }
  catch (const itk::ExceptionObject & error)
  {
    throw DatasetError("cannot read the atlas image '" + options.atlasImage +
                       "' (Debian package mricron-data): " + error.GetDescription());
  }
  if (!options.atlasLabels.empty())
    atlas.labels = readLabelMap(options.atlasLabels);
  return cache.emplace(key, atlas).first->second;
}

// The subject grid: the atlas extent at the requested spacing, the atlas direction.
ImageType::Pointer
subjectGrid(const ImageType * atlas, const SyntheticDatasetOptions & options)
{
  const double anisotropic[3] = { 3.0, 3.0, 2.0 };
  auto grid = ImageType::New();
  ImageType::SpacingType spacing;
  ImageType::SizeType size;
  itk::Vector<double, 3> shift;
  for (unsigned a = 0; a < 3; ++a)
  {
    spacing[a] = options.anisotropic ? anisotropic[a] : options.spacing;
    const double extent = atlas->GetSpacing()[a] * atlas->GetLargestPossibleRegion().GetSize()[a];
    size[a] = static_cast<itk::SizeValueType>(std::round(extent / spacing[a]));
    shift[a] = 0.5 * (spacing[a] - atlas->GetSpacing()[a]);
  }
  grid->SetRegions(size);
  grid->SetSpacing(spacing);
  grid->SetDirection(atlas->GetDirection());
  grid->SetOrigin(atlas->GetOrigin() + atlas->GetDirection() * shift);
  return grid;
}

// A random smooth field on `grid`: N(0, std) vectors on a control grid of n^3 points spanning
// the grid, linearly upsampled.
template <typename TPixel>
typename itk::Image<TPixel, 3>::Pointer
smoothRandomImage(const ImageType * grid, int n, const std::function<TPixel(Random &)> & draw, Random & random)
{
  using T = itk::Image<TPixel, 3>;
  auto coarse = T::New();
  typename T::SizeType size;
  size.Fill(static_cast<itk::SizeValueType>(n));
  typename T::SpacingType spacing;
  for (unsigned a = 0; a < 3; ++a)
    spacing[a] = grid->GetSpacing()[a] * (grid->GetLargestPossibleRegion().GetSize()[a] - 1) / (n - 1);
  coarse->SetRegions(size);
  coarse->SetSpacing(spacing);
  coarse->SetOrigin(grid->GetOrigin());
  coarse->SetDirection(grid->GetDirection());
  coarse->Allocate();
  itk::ImageRegionIterator<T> it(coarse, coarse->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
    it.Set(draw(random));
  auto resample = itk::ResampleImageFilter<T, T>::New();
  resample->SetInput(coarse);
  resample->SetOutputParametersFromImage(grid);
  resample->Update();
  return resample->GetOutput();
}
} // namespace

uint64_t
syntheticSubjectSeed(uint64_t seed, const std::string & split, size_t index)
{
  const uint64_t splitCode = split == "train" ? 1 : split == "val" ? 2 : 3;
  return splitmix(splitmix(seed) ^ (splitCode << 56) ^ static_cast<uint64_t>(index));
}

Subject
generateSyntheticSubject(const SyntheticDatasetOptions & options, uint64_t subjectSeed, const std::string & id)
{
  const Atlas & atlas = loadAtlas(options);
  Random random(subjectSeed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  const auto grid = subjectGrid(atlas.image, options);

  // Diffeomorphic part: exp of a smooth stationary velocity (mm).
  auto velocity = smoothRandomImage<itk::Vector<double, 3>>(
    grid,
    options.controlPoints,
    [&](Random & r) {
      itk::Vector<double, 3> v;
      for (unsigned a = 0; a < 3; ++a)
        v[a] = options.velocityStd * normal(r);
      return v;
    },
    random);
  auto exponential = itk::ExponentialDisplacementFieldImageFilter<FieldType, FieldType>::New();
  exponential->SetInput(velocity);
  exponential->Update();
  auto displacement = itk::DisplacementFieldTransform<double, 3>::New();
  displacement->SetDisplacementField(exponential->GetOutput());

  // Affine part about the atlas centre.
  auto affine = itk::AffineTransform<double, 3>::New();
  itk::Point<double, 3> centre;
  const auto size = atlas.image->GetLargestPossibleRegion().GetSize();
  itk::ContinuousIndex<double, 3> middle;
  for (unsigned a = 0; a < 3; ++a)
    middle[a] = 0.5 * (size[a] - 1);
  atlas.image->TransformContinuousIndexToPhysicalPoint(middle, centre);
  affine->SetCenter(centre);
  const double degree = 3.14159265358979323846 / 180.0;
  for (unsigned a = 0; a < 3; ++a)
  {
    itk::Vector<double, 3> axis(0.0);
    axis[a] = 1.0;
    affine->Rotate3D(axis, options.rotationDegrees * degree * uniform(random));
  }
  itk::Vector<double, 3> scales, translation;
  for (unsigned a = 0; a < 3; ++a)
  {
    scales[a] = 1.0 + options.scale * uniform(random);
    translation[a] = options.translationMm * uniform(random);
  }
  affine->Scale(scales);
  affine->Translate(translation);

  // Subject voxel p samples the atlas at A(p + u(p)): ITK applies the last added first.
  auto composite = itk::CompositeTransform<double, 3>::New();
  composite->AddTransform(affine);
  composite->AddTransform(displacement);

  Subject subject;
  subject.id = id;
  auto resampleImage = itk::ResampleImageFilter<ImageType, ImageType>::New();
  resampleImage->SetInput(atlas.image);
  resampleImage->SetTransform(composite);
  resampleImage->SetOutputParametersFromImage(grid);
  resampleImage->Update();
  subject.image = resampleImage->GetOutput();
  if (atlas.labels)
  {
    auto resampleLabels = itk::ResampleImageFilter<LabelImageType, LabelImageType>::New();
    resampleLabels->SetInput(atlas.labels);
    resampleLabels->SetTransform(composite);
    resampleLabels->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<LabelImageType, double>::New());
    resampleLabels->SetOutputParametersFromImage(grid);
    resampleLabels->Update();
    subject.labels = resampleLabels->GetOutput();
  }

  // Intensity augmentation.
  const double gamma = std::exp(options.gammaStd * normal(random));
  auto bias = smoothRandomImage<float>(
    grid, 4, [&](Random & r) { return static_cast<float>(std::exp(options.biasStd * normal(r))); }, random);
  float * v = subject.image->GetBufferPointer();
  const size_t n = subject.image->GetBufferedRegion().GetNumberOfPixels();
  const float top = std::max(1e-6f, *std::max_element(v, v + n));
  const float * b = bias->GetBufferPointer();
  for (size_t i = 0; i < n; ++i)
  {
    const double x = std::pow(std::max(0.0f, v[i]) / top, gamma) * b[i] + options.noiseStd * normal(random);
    v[i] = static_cast<float>(std::max(0.0, x));
  }
  return subject;
}

DatasetManifest
writeSyntheticDataset(const SyntheticDatasetOptions & options, const std::string & folder)
{
  namespace fs = std::filesystem;
  ensureImageIO();
  fs::create_directories(folder);
  DatasetManifest manifest;
  manifest.name = std::string("synthetic Colin27 (") + (options.anisotropic ? "3x3x2 mm" : "isotropic") + ", seed " +
                  std::to_string(options.seed) + ")";
  const std::vector<std::pair<std::string, size_t>> splits{ { "train", options.train },
                                                            { "val", options.val },
                                                            { "test", options.test } };
  for (const auto & split : splits)
  {
    for (size_t i = 0; i < split.second; ++i)
    {
      const std::string id = split.first + std::to_string(i);
      const Subject subject = generateSyntheticSubject(options, syntheticSubjectSeed(options.seed, split.first, i), id);
      SubjectEntry entry{ id, (fs::path(folder) / (id + "_image.nii.gz")).string(), "", split.first };
      itk::WriteImage(subject.image, entry.image, true);
      if (subject.labels)
      {
        entry.labels = (fs::path(folder) / (id + "_labels.nii.gz")).string();
        itk::WriteImage(subject.labels, entry.labels, true);
      }
      manifest.subjects.push_back(entry);
    }
  }
  writeManifest(manifest, (fs::path(folder) / "manifest.json").string());
  return manifest;
}

} // namespace shmoareg::training
