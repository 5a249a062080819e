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
};

// The seed of subject `index` of `split` ("train", "val", "test").
uint64_t
syntheticSubjectSeed(uint64_t seed, const std::string & split, size_t index);

// One subject; deterministic in `subjectSeed`.
Subject
generateSyntheticSubject(const SyntheticDatasetOptions & options, uint64_t subjectSeed, const std::string & id);

// All subjects of every split, written as NIfTI to `folder` with a manifest.json beside them.
DatasetManifest
writeSyntheticDataset(const SyntheticDatasetOptions & options, const std::string & folder);

} // namespace shmoareg::training

#endif
