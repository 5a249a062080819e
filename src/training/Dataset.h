// Datasets for training and evaluation: a manifest of subjects (image, optional label map,
// split), readers for the public layouts users have, and loading with the checks that give
// clear messages (missing file, label map on another grid, empty split).
#ifndef shmoareg_Dataset_h
#define shmoareg_Dataset_h

#include "itkSHMoARegImageTypes.h"

#include <stdexcept>
#include <string>
#include <vector>

namespace shmoareg::training {

using ImageType = itk::SHMoARegImageTypes::ImageType;
using LabelImageType = itk::SHMoARegImageTypes::LabelImageType;
// A displacement field in mm, ITK's convention (x -> x + u(x)).
using DisplacementFieldType = itk::SHMoARegImageTypes::DisplacementFieldType;

class DatasetError : public std::runtime_error
{
public:
  using std::runtime_error::runtime_error;
};

struct SubjectEntry
{
  std::string id;
  std::string image;  // absolute path
  std::string labels; // absolute path or empty
  std::string split;  // "train", "val" or "test"
  // A synthetic subject's known fields (synthesize --known-fields): absolute paths or empty;
  // a mirrored subject's are to and from the mirrored atlas.
  std::string toAtlas;
  std::string fromAtlas;
  bool mirrored = false;
};

struct DatasetManifest
{
  std::string name;
  std::vector<SubjectEntry> subjects;

  std::vector<SubjectEntry>
  split(const std::string & name) const;
  // Throws DatasetError if a listed split is empty.
  void
  requireSplits(const std::vector<std::string> & names) const;
};

// A manifest file: JSON {"name": ..., "subjects": [{"id", "image", "labels", "split"}]} or
// CSV with the header id,image,labels,split. Relative paths are relative to the manifest.
// Every listed file must exist.
DatasetManifest
readManifest(const std::string & path);
// Paths of files inside the manifest's folder are written relative to it, others absolute.
void
writeManifest(const DatasetManifest & manifest, const std::string & path);

// Learn2Reg's OASIS layout: imagesTr/OASIS_XXXX_0000.nii.gz and labelsTr/OASIS_XXXX_0000.nii.gz.
// Subjects sorted by name; the first `train` go to train, the next `val` to val, the rest to test
// (the paper: 350 / 10 / 11 of 414 are used).
DatasetManifest
scanLearn2RegOASIS(const std::string & folder, size_t train = 350, size_t val = 10, size_t test = 11);

// The BTCV abdominal CT layout: img/imgXXXX.nii.gz and label/labelXXXX.nii.gz (the paper: 35 / 5 / 10).
DatasetManifest
scanBTCV(const std::string & folder, size_t train = 35, size_t val = 5, size_t test = 10);

struct Subject
{
  std::string id;
  ImageType::Pointer image;
  LabelImageType::Pointer labels; // null when the subject has none
  // A synthetic subject's known transform, when asked for (generateSyntheticSubject): fields in
  // mm in ITK's convention (x -> x + u(x)); null otherwise.
  DisplacementFieldType::Pointer toAtlas;   // on the subject's grid, to the atlas
  DisplacementFieldType::Pointer fromAtlas; // its inverse, on the same grid (atlas space)
  bool mirrored = false; // built from the mirrored atlas (a synthetic subject): its known fields are to it
};

// Registers the image formats (NIfTI, MetaImage, NRRD) once per process: builds without ITK's
// automatic IO registration (the ITK module path) read and write them too.
void
ensureImageIO();

// Reads a subject; the label map must be integer-valued and on the image's grid.
Subject
loadSubject(const SubjectEntry & entry);

// Reads a label map, refusing non-integer values or values above 65535.
LabelImageType::Pointer
readLabelMap(const std::string & path, const std::string & description = "label map");

} // namespace shmoareg::training

#endif
