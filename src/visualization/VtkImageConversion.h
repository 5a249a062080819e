// ITK images -> VTK image data (origin, spacing, direction, scalars or vectors) and .vti files
// that ParaView opens. Written by hand: Debian's ITK has no ITKVtkGlue.
#ifndef shmoareg_VtkImageConversion_h
#define shmoareg_VtkImageConversion_h

#include "itkImage.h"
#include "itkVector.h"

#include <vtkImageData.h>
#include <vtkSmartPointer.h>

#include <string>

namespace shmoareg::visualization {

// One scalar component named `name`.
template <typename TPixel>
vtkSmartPointer<vtkImageData>
toVtkImageData(const itk::Image<TPixel, 3> * image, const std::string & name);

// Three components (a vector field) named `name`.
vtkSmartPointer<vtkImageData>
toVtkImageData(const itk::Image<itk::Vector<float, 3>, 3> * field, const std::string & name);

// Writes .vti (zlib-compressed, appended binary) to a temporary name, then renames.
void
writeVti(vtkImageData * image, const std::string & path);

vtkSmartPointer<vtkImageData>
readVti(const std::string & path);

} // namespace shmoareg::visualization

#endif
