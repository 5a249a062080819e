// Reading and writing transforms for the command line: ITK transform files (.h5/.hdf5, .mat,
// .txt/.tfm: affine, rigid, composite, displacement-field transforms) and displacement-field
// images (.nii.gz, .nrrd, .mha), all in ITK's physical convention (fixed -> moving points, LPS mm).
#ifndef shmoareg_TransformFiles_h
#define shmoareg_TransformFiles_h

#include "itkCompositeTransform.h"
#include "itkDisplacementFieldTransform.h"
#include "itkMatrixOffsetTransformBase.h"

#include <string>
#include <vector>

namespace shmoareg::cli {

using TransformType = itk::Transform<double, 3, 3>;
using CompositeTransformType = itk::CompositeTransform<double, 3>;
using FieldTransformType = itk::DisplacementFieldTransform<double, 3>;
using LinearTransformType = itk::MatrixOffsetTransformBase<double, 3, 3>;

// Registers ITK's transform file formats (HDF5, Matlab, text) once: the module path does not
// generate ITK's factory registration for executables.
void
registerTransformIO();

// Throws, naming the file, unless it is an image ITK reads with 3 dimensions and 3 components.
void
checkDisplacementFieldFile(const std::string & path, const std::string & what);

// True for the names ITK's transform IO reads (.h5, .hdf5, .mat, .txt, .tfm, .xfm).
bool
isTransformFileName(const std::string & path);

// One transform: a transform file (a composite one comes back as a CompositeTransform) or a
// displacement-field image. "[path,1]" (ANTs' syntax) inverts a linear transform. Errors name
// the file and what is wrong with it (dimension, kind).
TransformType::Pointer
readTransform(const std::string & path, const std::string & what);

// antsApplyTransforms' order: for "A,B" a point p of the output grid maps to B(A(p)) (the first
// listed acts first on points; seen as moving the image, the last listed moves it first). So
// "P1Warp.nii.gz,P0GenericAffine.mat" maps p to A(p + w(p)), as ANTs' -t P1Warp -t P0GenericAffine.
CompositeTransformType::Pointer
readTransformStack(const std::vector<std::string> & paths, const std::string & what);

// The linear part when the transform is one (a matrix-offset transform, or a composite of one);
// nullptr otherwise.
const LinearTransformType *
asLinearTransform(const TransformType * transform);

// The linear transform as an itk::AffineTransform (what ANTs' P0GenericAffine.mat holds).
LinearTransformType::Pointer
toAffineTransform(const LinearTransformType * linear);


} // namespace shmoareg::cli

#endif
