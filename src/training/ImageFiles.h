// Reading the images a user gives. ITK's readers accept some files that they then read wrongly
// without a word (a truncated .nii.gz or .mha is filled with zeros; a 4-D image is cut to its
// first volume; a 2-D image becomes one slice; a negative voxel size is kept): every image the
// programs read goes through readImageFile, which refuses those by name, in the user's terms.
#ifndef shmoareg_ImageFiles_h
#define shmoareg_ImageFiles_h

#include "itkSHMoARegImageTypes.h"
#include "itkImage.h"
#include "itkImageFileReader.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace shmoareg::training {

class ImageFileError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

// What an image file must be to be read as one 3-D volume: the file exists and ITK reads its
// header; 3-D (no axis of one voxel among the first three, no second volume along a fourth
// axis); positive finite voxel sizes; `components` values per voxel (1: a scalar image; 3: a
// displacement field; 0: any); all its voxel data present (NIfTI and MetaImage, compressed or
// not: ITK's own NRRD reader already refuses a short file). `description` names the file in
// the messages ("fixed image", "moving label map").
struct ImageFileContents
{
  // Voxels (buffer offset, value) that the file holds as NaN or infinite but ITK's reader turns
  // into 0 (its NIfTI reader does; MetaImage and NRRD keep them).
  std::vector<std::pair<uint64_t, float>> nonFiniteVoxels;
};
ImageFileContents
checkImageFile(const std::string & path, const std::string & description, unsigned int components = 1);

// The first line of an ITK error description (ITK's NRRD reader writes a page of them).
std::string
firstLine(const std::string & text);

// checkImageFile, then ITK's reader; any failure an ImageFileError that names the file.
template <typename TImage>
typename TImage::Pointer
readImageFile(const std::string & path, const std::string & description, unsigned int components = 1)
{
  const ImageFileContents contents = checkImageFile(path, description, components);
  typename TImage::Pointer image;
  try
  {
    image = itk::ReadImage<TImage>(path);
  }
  catch (const itk::ExceptionObject & error)
  {
    throw ImageFileError("cannot read the " + description + " '" + path + "': " + firstLine(error.GetDescription()));
  }
  // What the file holds, not what the reader made of it: the callers refuse or replace these.
  if constexpr (std::is_floating_point_v<typename TImage::PixelType>)
    for (const auto & voxel : contents.nonFiniteVoxels)
      if (voxel.first < image->GetBufferedRegion().GetNumberOfPixels())
        image->GetBufferPointer()[voxel.first] = static_cast<typename TImage::PixelType>(voxel.second);
  return image;
}

// NaN and infinite voxels: how many, and replacing them by a value (returns how many were).
size_t
countNonFiniteVoxels(const itk::SHMoARegImageTypes::ImageType * image);
size_t
replaceNonFiniteVoxels(itk::SHMoARegImageTypes::ImageType * image, float value);

// Empty when the image has contrast; else why it has none, for a warning: "constant (every
// voxel 5)" or "nearly constant (99 % of its voxels equal 0)", the latter when the 0.5th and
// 99.5th percentiles that the network's intensity normalisation uses are equal.
std::string
describeMissingContrast(const itk::SHMoARegImageTypes::ImageType * image);

} // namespace shmoareg::training

#endif
