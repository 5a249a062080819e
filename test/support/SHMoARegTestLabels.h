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
// Label images for the metric filters' tests: a label per voxel from a function of its point and
// index.
#ifndef SHMoARegTestLabels_h
#define SHMoARegTestLabels_h

#include "itkImage.h"
#include "itkImageRegionIteratorWithIndex.h"

#include <functional>

namespace shmoareg_test {
using LabelImageType = itk::Image<unsigned char, 3>;

inline LabelImageType::Pointer
makeLabels(const LabelImageType::SizeType & size,
           const double spacing[3],
           const std::function<unsigned char(const itk::Point<double, 3> &, const itk::Index<3> &)> & label)
{
  auto image = LabelImageType::New();
  image->SetRegions(size);
  image->SetSpacing(spacing);
  image->Allocate();
  itk::ImageRegionIteratorWithIndex<LabelImageType> it(image, image->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    itk::Point<double, 3> p;
    image->TransformIndexToPhysicalPoint(it.GetIndex(), p);
    it.Set(label(p, it.GetIndex()));
  }
  return image;
}

inline bool
inCube(const itk::Index<3> & i, int lo, int hi)
{
  return i[0] >= lo && i[0] < hi && i[1] >= lo && i[1] < hi && i[2] >= lo && i[2] < hi;
}

// Two 30^3 label maps: label 1 a 10^3 cube in both, shifted by 2 voxels along i in the target;
// label 2 the same block in both; label 3 (the last slice) in the source only.
inline LabelImageType::Pointer
shiftedCubesSource()
{
  const double unit[3] = { 1.0, 1.0, 1.0 };
  return makeLabels(
    { { 30, 30, 30 } }, unit, [](const itk::Point<double, 3> &, const itk::Index<3> & i) -> unsigned char {
      if (inCube(i, 5, 15))
        return 1;
      if (i[0] >= 20 && i[0] < 25 && i[1] < 5)
        return 2;
      return i[2] == 29 ? 3 : 0;
    });
}
inline LabelImageType::Pointer
shiftedCubesTarget()
{
  const double unit[3] = { 1.0, 1.0, 1.0 };
  return makeLabels(
    { { 30, 30, 30 } }, unit, [](const itk::Point<double, 3> &, const itk::Index<3> & i) -> unsigned char {
      itk::Index<3> shifted = i;
      shifted[0] -= 2;
      if (inCube(shifted, 5, 15))
        return 1;
      if (i[0] >= 20 && i[0] < 25 && i[1] < 5)
        return 2;
      return 0;
    });
}

// The source's cube 1 m away along x: the same size on another grid.
inline LabelImageType::Pointer
cubeOneMetreAway()
{
  const double unit[3] = { 1.0, 1.0, 1.0 };
  auto farAway =
    makeLabels({ { 30, 30, 30 } }, unit, [](const itk::Point<double, 3> &, const itk::Index<3> & i) -> unsigned char {
      return inCube(i, 5, 15) ? 1 : 0;
    });
  itk::Point<double, 3> origin;
  origin[0] = 1000.0;
  origin[1] = 0.0;
  origin[2] = 0.0;
  farAway->SetOrigin(origin);
  return farAway;
}

// Whether `measure` refuses the source next to cubeOneMetreAway() naming only the origins.
template <typename TFilter>
bool
refusesLabelsOneMetreAway(TFilter * measure, const LabelImageType * source)
{
  measure->SetSourceImage(source);
  measure->SetTargetImage(cubeOneMetreAway());
  try
  {
    measure->Update();
    std::cerr << measure->GetNameOfClass() << " accepted label images 1 m apart" << std::endl;
    return false;
  }
  catch (const itk::ExceptionObject & error)
  {
    const std::string message = error.GetDescription();
    return message.find("origin [0, 0, 0] vs [1000, 0, 0]") != std::string::npos &&
           message.find("size") == std::string::npos; // only what differs
  }
}
} // namespace shmoareg_test

#endif
