#include "SyntheticDataset.h"
#include "ImageFiles.h"

#include "itkAffineTransform.h"
#include "itkCompositeTransform.h"
#include "itkDisplacementFieldTransform.h"
#include "itkExponentialDisplacementFieldImageFilter.h"
#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionIterator.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkFlipImageFilter.h"
#include "itkNearestNeighborInterpolateImageFunction.h"
#include "itkResampleImageFilter.h"
#include "itkSmoothingRecursiveGaussianImageFilter.h"

#include <filesystem>
#include <map>
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

constexpr unsigned short kTissueLabel[3] = { 201, 202, 203 }; // CSF, GM, WM

// The atlas labels where non-zero, else the image's tissue class inside the brain (non-zero
// image voxels, 3-class Otsu on their intensities), on the image's grid.
LabelImageType::Pointer
labelsWithTissueClasses(const ImageType * image, const LabelImageType * labels)
{
  auto onImageGrid = itk::ResampleImageFilter<LabelImageType, LabelImageType>::New();
  onImageGrid->SetInput(labels);
  onImageGrid->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<LabelImageType, double>::New());
  onImageGrid->SetOutputParametersFromImage(image);
  onImageGrid->Update();
  LabelImageType::Pointer combined = onImageGrid->GetOutput();

  const float * v = image->GetBufferPointer();
  const size_t n = image->GetBufferedRegion().GetNumberOfPixels();
  std::vector<float> brain;
  for (size_t i = 0; i < n; ++i)
    if (v[i] > 0.0f)
      brain.push_back(v[i]);
  if (brain.size() < 100)
    throw DatasetError("the atlas image has too few non-zero voxels for tissue classes");
  // Otsu's two thresholds on a 128-bin histogram of the brain's intensities.
  const auto [lo, hi] = std::minmax_element(brain.begin(), brain.end());
  std::vector<double> histogram(128, 0.0);
  const double width = std::max(1e-6, static_cast<double>(*hi - *lo)) / 128.0;
  for (float x : brain)
    histogram[std::min<size_t>(127, static_cast<size_t>((x - *lo) / width))] += 1.0;
  double best = -1.0;
  size_t t1 = 1, t2 = 2;
  const double total = static_cast<double>(brain.size());
  std::vector<double> count(129, 0.0), moment(129, 0.0); // prefix sums
  for (size_t b = 0; b < 128; ++b)
  {
    count[b + 1] = count[b] + histogram[b];
    moment[b + 1] = moment[b] + histogram[b] * (b + 0.5);
  }
  for (size_t a = 1; a < 127; ++a)
    for (size_t c = a + 1; c < 128; ++c)
    {
      // Between-class variance of [0, a), [a, c), [c, 128).
      double between = 0.0;
      for (auto [from, to] : { std::pair<size_t, size_t>{ 0, a }, { a, c }, { c, 128 } })
      {
        const double w = count[to] - count[from];
        if (w > 0)
          between += (moment[to] - moment[from]) * (moment[to] - moment[from]) / w;
      }
      between -= moment[128] * moment[128] / total;
      if (between > best)
      {
        best = between;
        t1 = a;
        t2 = c;
      }
    }
  const double threshold1 = *lo + t1 * width, threshold2 = *lo + t2 * width;
  unsigned short * l = combined->GetBufferPointer();
  for (size_t i = 0; i < n; ++i)
    if (l[i] == 0 && v[i] > 0.0f)
      l[i] = kTissueLabel[v[i] < threshold1 ? 0 : v[i] < threshold2 ? 1 : 2];
  return combined;
}

// The atlas mirrored along index axis 0, AAL's left and right labels (1-108: odd, even) swapped.
Atlas
mirroredAtlas(const Atlas & atlas)
{
  itk::FixedArray<bool, 3> axes;
  axes.Fill(false);
  axes[0] = true;
  auto flip = [&axes](auto image) {
    using T = typename std::remove_pointer_t<decltype(image.GetPointer())>;
    auto filter = itk::FlipImageFilter<T>::New();
    filter->SetInput(image);
    filter->SetFlipAxes(axes);
    filter->FlipAboutOriginOff(); // mirrored in place: the same grid
    filter->Update();
    typename T::Pointer flipped = filter->GetOutput();
    flipped->DisconnectPipeline();
    flipped->CopyInformation(image); // keep the atlas's own origin and direction
    return flipped;
  };
  Atlas mirrored{ flip(atlas.image), atlas.labels ? flip(atlas.labels) : nullptr };
  if (mirrored.labels)
  {
    unsigned short * l = mirrored.labels->GetBufferPointer();
    for (size_t i = 0, n = mirrored.labels->GetBufferedRegion().GetNumberOfPixels(); i < n; ++i)
      if (l[i] >= 1 && l[i] <= 108)
        l[i] = l[i] % 2 ? l[i] + 1 : l[i] - 1;
  }
  return mirrored;
}

// Atlases are read once per process and options (with their tissue classes and mirror image
// when asked).
const Atlas &
loadAtlas(const SyntheticDatasetOptions & options, bool mirrored = false)
{
  static std::mutex mutex;
  static std::map<std::string, Atlas> cache;
  std::lock_guard<std::mutex> lock(mutex);
  ensureImageIO();
  const std::string key = options.atlasImage + "|" + options.atlasLabels + (options.tissueLabels ? "|tissue" : "") +
                          (mirrored ? "|mirrored" : "");
  auto found = cache.find(key);
  if (found != cache.end())
    return found->second;
  Atlas atlas;
  try
  {
    atlas.image = readImageFile<ImageType>(options.atlasImage, "atlas image");
  }
  catch (const ImageFileError & error)
  {
    throw DatasetError(std::string(error.what()) + " (the atlas comes from Debian's package mricron-data)");
  }
  if (!options.atlasLabels.empty())
    atlas.labels = readLabelMap(options.atlasLabels);
  if (options.tissueLabels)
  {
    if (!atlas.labels)
      throw DatasetError("tissue_labels needs atlas labels");
    atlas.labels = labelsWithTissueClasses(atlas.image, atlas.labels);
  }
  if (mirrored)
    atlas = mirroredAtlas(atlas);
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

// u(x) = T(x) - x at every voxel of `grid` (mm).
DisplacementFieldType::Pointer
displacementOfTransform(const itk::Transform<double, 3, 3> & transform, const ImageType * grid)
{
  auto field = DisplacementFieldType::New();
  field->CopyInformation(grid);
  field->SetRegions(grid->GetLargestPossibleRegion());
  field->Allocate();
  itk::ImageRegionIteratorWithIndex<DisplacementFieldType> it(field, field->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    itk::Point<double, 3> x;
    field->TransformIndexToPhysicalPoint(it.GetIndex(), x);
    const itk::Point<double, 3> y = transform.TransformPoint(x);
    DisplacementFieldType::PixelType u;
    for (unsigned a = 0; a < 3; ++a)
      u[a] = static_cast<float>(y[a] - x[a]);
    it.Set(u);
  }
  return field;
}
} // namespace

uint64_t
syntheticSubjectSeed(uint64_t seed, const std::string & split, size_t index)
{
  const uint64_t splitCode = split == "train" ? 1 : split == "val" ? 2 : 3;
  return splitmix(splitmix(seed) ^ (splitCode << 56) ^ static_cast<uint64_t>(index));
}

Subject
generateSyntheticSubject(const SyntheticDatasetOptions & options,
                         uint64_t subjectSeed,
                         const std::string & id,
                         bool knownFields)
{
  // The variety options draw from their own stream (SyntheticDatasetOptions).
  Random variety(splitmix(subjectSeed ^ 0x7661726965747921ULL));
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const bool mirrored = options.flipFraction > 0.0 && unit(variety) < options.flipFraction;
  const bool labelContrast = options.labelContrastFraction > 0.0 && unit(variety) < options.labelContrastFraction;
  const double velocityStd = options.velocityStdMax > options.velocityStd
                               ? options.velocityStd + (options.velocityStdMax - options.velocityStd) * unit(variety)
                               : options.velocityStd;
  const Atlas & atlas = loadAtlas(options, mirrored);
  if (options.labelContrastFraction > 0.0 && !options.tissueLabels)
    throw DatasetError("label_contrast_fraction > 0 needs tissue_labels (the image is drawn from the label map)");
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
        v[a] = velocityStd * normal(r);
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
  subject.mirrored = mirrored;
  if (knownFields)
  {
    subject.toAtlas = displacementOfTransform(*composite, grid);
    // S^-1(q) = w(A^-1(q)), w = id + exp(-v): ITK applies the last added first.
    auto inverseExponential = itk::ExponentialDisplacementFieldImageFilter<FieldType, FieldType>::New();
    inverseExponential->SetInput(velocity);
    inverseExponential->ComputeInverseOn();
    inverseExponential->Update();
    auto inverseDisplacement = itk::DisplacementFieldTransform<double, 3>::New();
    inverseDisplacement->SetDisplacementField(inverseExponential->GetOutput());
    auto inverseAffine = itk::AffineTransform<double, 3>::New();
    if (!affine->GetInverse(inverseAffine))
      throw DatasetError("the synthetic affine transform has no inverse");
    auto inverse = itk::CompositeTransform<double, 3>::New();
    inverse->AddTransform(inverseDisplacement);
    inverse->AddTransform(inverseAffine);
    subject.fromAtlas = displacementOfTransform(*inverse, grid);
  }
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

  if (labelContrast)
  {
    // An image drawn from the subject's label map: a random mean per tissue class, a small
    // jitter per label, background 0, then a blur of up to one voxel (partial volume).
    std::normal_distribution<double> jitter(0.0, 0.03);
    double classMean[3];
    for (double & m : classMean)
      m = 0.1 + 0.9 * unit(variety);
    std::map<unsigned short, float> intensity{ { 0, 0.0f } };
    const unsigned short * l = subject.labels->GetBufferPointer();
    float * out = subject.image->GetBufferPointer();
    for (size_t i = 0, n = subject.image->GetBufferedRegion().GetNumberOfPixels(); i < n; ++i)
    {
      auto found = intensity.find(l[i]);
      if (found == intensity.end())
      {
        const int tissue = l[i] == kTissueLabel[0] ? 0 : l[i] == kTissueLabel[2] ? 2 : 1; // atlas labels: GM
        found = intensity.emplace(l[i], static_cast<float>(std::max(0.0, classMean[tissue] + jitter(variety)))).first;
      }
      out[i] = found->second;
    }
    auto blur = itk::SmoothingRecursiveGaussianImageFilter<ImageType, ImageType>::New();
    blur->SetInput(subject.image);
    blur->SetSigma(std::max(1e-3, unit(variety)) * subject.image->GetSpacing()[0]);
    blur->Update();
    subject.image = blur->GetOutput();
    subject.image->DisconnectPipeline();
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
writeSyntheticDataset(const SyntheticDatasetOptions & options, const std::string & folder, bool knownFields)
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
      const Subject subject =
        generateSyntheticSubject(options, syntheticSubjectSeed(options.seed, split.first, i), id, knownFields);
      SubjectEntry entry{ id, (fs::path(folder) / (id + "_image.nii.gz")).string(), "", split.first };
      entry.mirrored = subject.mirrored;
      itk::WriteImage(subject.image, entry.image, true);
      if (subject.labels)
      {
        entry.labels = (fs::path(folder) / (id + "_labels.nii.gz")).string();
        itk::WriteImage(subject.labels, entry.labels, true);
      }
      if (subject.toAtlas)
      {
        entry.toAtlas = (fs::path(folder) / (id + "_to_atlas.nii.gz")).string();
        entry.fromAtlas = (fs::path(folder) / (id + "_from_atlas.nii.gz")).string();
        itk::WriteImage(subject.toAtlas, entry.toAtlas, true);
        itk::WriteImage(subject.fromAtlas, entry.fromAtlas, true);
      }
      manifest.subjects.push_back(entry);
    }
  }
  writeManifest(manifest, (fs::path(folder) / "manifest.json").string());
  return manifest;
}

} // namespace shmoareg::training
