/*=========================================================================
 *
 *  Copyright NumFOCUS
 *
 *  Licensed under the Apache License, Version 2.0 (the "License");
 *  you may not use this file except in compliance with the License.
 *  You may obtain a copy of the License at
 *
 *         http://www.apache.org/licenses/LICENSE-2.0.txt
 *
 *  Unless required by applicable law or agreed to in writing, software
 *  distributed under the License is distributed on an "AS IS" BASIS,
 *  WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 *  See the License for the specific language governing permissions and
 *  limitations under the License.
 *
 *=========================================================================*/
#ifndef itkSHMoARegImageTypes_h
#define itkSHMoARegImageTypes_h

#include "itkImage.h"
#include "itkVector.h"

namespace itk {

/** \class SHMoARegImageTypes
 * \brief The module's concrete image types, declared once: the network registers 3D float
 * images and predicts 3D float vector fields. The templated filters take any pixel type; the
 * model, the network grid, training, the pictures and the command line use these.
 *
 * \ingroup SHMoAReg
 */
struct SHMoARegImageTypes
{
  static constexpr unsigned int Dimension = 3;
  /** Intensities (the network's inputs, on whatever grid). */
  using ImageType = Image<float, Dimension>;
  /** Label maps (atlases, segmentations). */
  using LabelImageType = Image<unsigned short, Dimension>;
  /** Masks: non-zero inside. */
  using MaskImageType = Image<unsigned char, Dimension>;
  /** Displacements: in mm along x y z on a physical grid, or in voxels along i j k on the
   * network grid (what each holds is said where it is used). */
  using DisplacementFieldType = Image<Vector<float, Dimension>, Dimension>;
  /** The expert an SHMoE layer chose at each voxel (0 .. experts - 1). */
  using ExpertMapType = Image<unsigned char, Dimension>;
};

} // namespace itk

#endif
