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
#ifndef itkSHMoARegImageGrid_h
#define itkSHMoARegImageGrid_h

#include "itkImageBase.h"

#include <sstream>
#include <string>

namespace itk {

/** \class SHMoARegImageGrid
 * \brief Whether two images lie on one voxel grid, and in which respect they do not.
 *
 * The label, mask and metric code of the module compares grids through this class alone, so
 * that each refusal says the same thing: which of size, index, spacing, origin and direction
 * differ, with both values.
 *
 * \ingroup SHMoAReg
 */
class SHMoARegImageGrid
{
public:
  /** Same size, index, spacing, origin and direction (spacing and origin to 1e-6 of the first
   * voxel size; direction to 1e-6). */
  template <unsigned int VDimension>
  static bool
  HaveSameGrid(const ImageBase<VDimension> * a, const ImageBase<VDimension> * b)
  {
    return DescribeGridDifference(a, b).empty();
  }

  /** Empty when HaveSameGrid; else each differing property with a's and b's values, for
   * example "origin [0, 0, 0] vs [1000, 0, 0]". */
  template <unsigned int VDimension>
  static std::string
  DescribeGridDifference(const ImageBase<VDimension> * a, const ImageBase<VDimension> * b)
  {
    const double tolerance = 1e-6 * a->GetSpacing()[0];
    std::ostringstream differences;
    auto add = [&differences](const char * what, const auto & x, const auto & y) {
      differences << (differences.tellp() > 0 ? "; " : "") << what << " " << x << " vs " << y;
    };
    const auto & regionA = a->GetLargestPossibleRegion();
    const auto & regionB = b->GetLargestPossibleRegion();
    if (regionA.GetSize() != regionB.GetSize())
    {
      add("size", regionA.GetSize(), regionB.GetSize());
    }
    if (regionA.GetIndex() != regionB.GetIndex())
    {
      add("index", regionA.GetIndex(), regionB.GetIndex());
    }
    if (!a->GetSpacing().GetVnlVector().is_equal(b->GetSpacing().GetVnlVector(), tolerance))
    {
      add("spacing", a->GetSpacing(), b->GetSpacing());
    }
    if (!a->GetOrigin().GetVnlVector().is_equal(b->GetOrigin().GetVnlVector(), tolerance))
    {
      add("origin", a->GetOrigin(), b->GetOrigin());
    }
    if (!a->GetDirection().GetVnlMatrix().is_equal(b->GetDirection().GetVnlMatrix(), 1e-6))
    {
      std::ostringstream x, y;
      x << a->GetDirection().GetVnlMatrix();
      y << b->GetDirection().GetVnlMatrix();
      add("direction", "[" + Flatten(x.str()) + "]", "[" + Flatten(y.str()) + "]");
    }
    return differences.str();
  }

private:
  static std::string
  Flatten(std::string matrix)
  {
    for (char & c : matrix)
    {
      c = c == '\n' ? ';' : c;
    }
    while (!matrix.empty() && (matrix.back() == ';' || matrix.back() == ' '))
    {
      matrix.pop_back();
    }
    return matrix;
  }
};

} // namespace itk

#endif
