// One PNG figure of a registered pair, rendered off-screen with VTK's imaging pipeline and
// FreeType (no OpenGL, no display): rows are the axial, coronal and sagittal slices through the
// fixed image's centre; columns are the fixed, moving (on the fixed grid, before registration)
// and warped images with label contours, the deformed grid, the Jacobian determinant with
// folded voxels marked, and the per-direction SHMoE expert maps (the paper's Fig. 2).
#ifndef shmoareg_RegistrationFigure_h
#define shmoareg_RegistrationFigure_h

#include "itkSHMoARegImageTypes.h"

#include <vtkImageData.h>
#include <vtkSmartPointer.h>

#include <array>
#include <string>
#include <vector>

namespace shmoareg::visualization {

using ImageType = itk::SHMoARegImageTypes::ImageType;
using LabelImageType = itk::SHMoARegImageTypes::LabelImageType;
using FieldType = itk::SHMoARegImageTypes::DisplacementFieldType;
using ExpertMapType = itk::SHMoARegImageTypes::ExpertMapType;

struct RegistrationFigureInputs
{
  const ImageType * fixed = nullptr;  // required
  const ImageType * moving = nullptr; // required, any grid
  const ImageType * warped = nullptr; // required, fixed grid
  const FieldType * field = nullptr;  // required, fixed grid, ITK's physical convention
  const LabelImageType * fixedLabels = nullptr;
  const LabelImageType * movingLabels = nullptr; // on the moving grid
  const LabelImageType * warpedLabels = nullptr; // on the fixed grid
  std::vector<const ExpertMapType *> expertMaps; // i, j, k; any grid (the network grid)
};

struct FigureOptions
{
  int panelSize = 160;       // pixels per panel side
  int gridSpacingVoxels = 6; // deformed-grid line spacing
};

// An RGB (unsigned char, 3 components) 2D vtkImageData.
vtkSmartPointer<vtkImageData>
renderRegistrationFigure(const RegistrationFigureInputs & inputs, const FigureOptions & options = {});

// Writes a PNG to a temporary name, then renames it.
void
writePng(vtkImageData * image, const std::string & path);

// A training-curve plot from the trainer's log.csv: training loss (running mean over 20
// iterations) and validation loss against the iteration, and validation Dice when logged.
vtkSmartPointer<vtkImageData>
renderTrainingCurves(const std::string & logCsv, int width = 900, int height = 420);

} // namespace shmoareg::visualization

#endif
