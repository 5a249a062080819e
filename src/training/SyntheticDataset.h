// The built-in dataset: subjects made from one atlas (the Colin27 T1 and a label atlas from
// the Debian package mricron-data) by random smooth diffeomorphic deformations with a random
// affine part and intensity augmentation (gamma, bias field, noise). Seeded: a subject is a
// function of (seed, split, index), and the test split's seeds never meet the others'.
#ifndef shmoareg_SyntheticDataset_h
#define shmoareg_SyntheticDataset_h

#include "Dataset.h"

#include <cstdint>

namespace shmoareg::training {

struct SyntheticDatasetOptions
{
  std::string atlasImage = "/usr/share/mricron/templates/ch2bet.nii.gz";
  std::string atlasLabels = "/usr/share/mricron/templates/aal.nii.gz";
  // Subject grid: isotropic `spacing` mm, or 3 x 3 x 2 mm (the BTCV-like anisotropic mode).
  bool anisotropic = false;
  double spacing = 2.0;
  size_t train = 8;
  size_t val = 2;
  size_t test = 3;
  uint64_t seed = 1;
  // Deformation: a stationary velocity with `controlPoints`^3 random N(0, velocityStd) mm
  // vectors, linearly upsampled and exponentiated; affine: rotations up to rotationDegrees,
  // scaling up to 1 +- scale, translations up to translationMm.
  int controlPoints = 5;
  double velocityStd = 3.0;
  double rotationDegrees = 5.0;
  double scale = 0.05;
  double translationMm = 4.0;
  // Intensities (after scaling the subject to [0, 1]): gamma = exp(N(0, gammaStd)), a smooth
  // multiplicative bias exp(N(0, biasStd)) on a 4^3 grid, Gaussian noise N(0, noiseStd).
  double gammaStd = 0.2;
  double biasStd = 0.1;
  double noiseStd = 0.02;

  // Anatomical and contrast variety (SynthMorph-like, Hoffmann et al. 2022); all off by
  // default, and each draws from its own random stream, so turning one on changes no other
  // subject property (the default test pairs stay the same).
  // velocityStdMax > velocityStd: each subject draws its velocity std in [velocityStd, max].
  double velocityStdMax = 0.0;
  // This fraction of subjects gets an image drawn from the atlas label map rather than the
  // atlas intensities: each tissue class (CSF, GM, WM) a random mean in [0.1, 1], each label a
  // small jitter of its class's mean, then a random blur (sigma up to one voxel) before the
  // gamma, bias and noise above.
  double labelContrastFraction = 0.0;
  // The subject's label map: the atlas labels where they are non-zero, elsewhere in the brain
  // the atlas image's tissue classes (3-class Otsu of its non-zero voxels) as 201 (CSF),
  // 202 (GM), 203 (WM). Off: the atlas labels alone.
  bool tissueLabels = false;
  // This fraction of subjects is built from the atlas mirrored left-right (index axis 0), its
  // AAL labels 1-108 swapped between sides (AAL's odd = left, even = right).
  double flipFraction = 0.0;
};

// The seed of subject `index` of `split` ("train", "val", "test").
uint64_t
syntheticSubjectSeed(uint64_t seed, const std::string & split, size_t index);

// One subject; deterministic in `subjectSeed`. With knownFields, also its transform to the
// atlas and the inverse (Subject::toAtlas, fromAtlas; the inverse of the velocity's exponential
// is the exponential of the negated velocity): a pair's true field is then
// x -> y + fromAtlas_moving(y) with y = x + toAtlas_fixed(x) (endPointError in Evaluation.h).
// A mirrored subject's (flipFraction) are to and from the mirrored atlas: a pair's true field
// exists only between subjects of the same atlas (Subject::mirrored, the manifest's "mirrored").
Subject
generateSyntheticSubject(const SyntheticDatasetOptions & options,
                         uint64_t subjectSeed,
                         const std::string & id,
                         bool knownFields = false);

// All subjects of every split, written as NIfTI to `folder` with a manifest.json beside them;
// with knownFields also ID_to_atlas.nii.gz and ID_from_atlas.nii.gz (Subject::toAtlas, fromAtlas),
// listed in the manifest as to_atlas / from_atlas.
DatasetManifest
writeSyntheticDataset(const SyntheticDatasetOptions & options, const std::string & folder, bool knownFields = false);

} // namespace shmoareg::training

#endif
