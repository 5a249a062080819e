// The options and inputs that the registering commands share (register, render, evaluate,
// forward): the model, the images and their checks, the initial transform, the network grid and
// the refinement, each declared once and applied once (registerPair).
#ifndef shmoareg_RegistrationOptions_h
#define shmoareg_RegistrationOptions_h

#include "CommandLine.h"
#include "TransformFiles.h"

#include "itkSHMoARegImageTypes.h"
#include "itkSHMoARegistrationFilter.h"

#include <string>
#include <vector>

namespace shmoareg::cli {

using ImageType = itk::SHMoARegImageTypes::ImageType;
using LabelImageType = itk::SHMoARegImageTypes::LabelImageType;
using RegistrationFilterType =
  itk::SHMoARegistrationFilter<ImageType, ImageType, itk::SHMoARegImageTypes::DisplacementFieldType, LabelImageType>;

// The default model shipped in the repository (models/), when no --model is given.
std::string
defaultModelPath();

// --model, --preset, --device, --threads; makeModel loads or builds what they name.
void
addModelOptions(ArgumentParser & args);
itk::SHMoARegModel::Pointer
makeModel(const ArgumentParser & args);

// A displacement field file: 3 dimensions, 3 components per voxel, else an error naming it.
itk::SHMoARegImageTypes::DisplacementFieldType::Pointer
readDisplacementField(const std::string & path, const char * what);

// --initial-transform; readInitialTransform gives its transform, or null without one.
void
addInitialTransformOption(ArgumentParser & args);
TransformType::Pointer
readInitialTransform(const ArgumentParser & args);

// A float image; `what` names it in errors ("fixed" gives "fixed image").
ImageType::Pointer
readImage(const std::string & path, const char * what);

// The images of a registration, read and checked as register and render share them: labels
// on their image's grid, no NaN or infinite voxel unless --replace-non-finite replaces them,
// and a warning for an image without contrast.
struct RegistrationInputs
{
  ImageType::Pointer fixed;
  ImageType::Pointer moving;
  LabelImageType::Pointer fixedLabels;
  LabelImageType::Pointer movingLabels;
  size_t fixedNonFiniteReplaced = 0;
  size_t movingNonFiniteReplaced = 0;
  std::vector<std::string> warnings;
};
void
addInputCheckOptions(ArgumentParser & args);
RegistrationInputs
readRegistrationInputs(const ArgumentParser & args);

// Every file a registration reads, for checkOutputFiles.
std::vector<std::string>
registrationInputPaths(const ArgumentParser & args);

// The network grid (register, render, evaluate) and the box it covers (register, render).
void
addNetworkGridOptions(ArgumentParser & args, bool withFieldOfView);

// The network's passes and the refinement after it (docs/results.md): register and render
// share these.
void
addRefinementOptions(ArgumentParser & args);

// The registration that register and render share, with every option above applied. Without
// --grid the filter picks the grid from the model's training voxel size (128^3 for a preset).
RegistrationFilterType::Pointer
registerPair(const ArgumentParser & args,
             itk::SHMoARegModel * model,
             const ImageType * fixed,
             const ImageType * moving,
             const LabelImageType * movingLabels,
             bool inverse = false,
             const TransformType * initialTransform = nullptr);

} // namespace shmoareg::cli

#endif
