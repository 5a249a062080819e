// The built-in affine pre-alignment of `register --affine`: ITK's own registration framework
// (ImageRegistrationMethodv4, affine transform, Mattes mutual information, three resolutions).
#ifndef shmoareg_AffinePreAlignment_h
#define shmoareg_AffinePreAlignment_h

#include "itkAffineTransform.h"
#include "itkSHMoARegImageTypes.h"

#include <ostream>

namespace shmoareg::cli {

struct AffinePreAlignmentResult
{
  itk::AffineTransform<double, 3>::Pointer transform; // fixed -> moving points
  double metricValue = 0.0;                           // Mattes MI at the end (lower is better)
  unsigned int iterations = 0;                        // over all levels
  double seconds = 0.0;
};

// Starts from the images' centres of mass (moments) and refines a 12-parameter affine transform
// at 4x, 2x and 1x shrink (Gaussian sigmas 2, 1, 0 voxels), 32-bin Mattes MI on a fixed 20 %
// random sample (fixed seed: the same result every run), regular-step gradient descent with
// physical-shift scales. Progress per level goes to `log`.
AffinePreAlignmentResult
affinePreAlignment(const itk::SHMoARegImageTypes::ImageType * fixed,
                   const itk::SHMoARegImageTypes::ImageType * moving,
                   std::ostream & log);

} // namespace shmoareg::cli

#endif
