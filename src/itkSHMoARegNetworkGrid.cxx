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
#include "itkSHMoARegNetworkGrid.h"

#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIterator.h"

#include <algorithm>
#include <cmath>

namespace itk {

namespace {
// The box's length on axis a: the field of view where given, else the reference's extent.
double
boxLength(const ImageBase<3> * reference, const FixedArray<double, 3> & fieldOfView, unsigned int a)
{
  if (!(fieldOfView[a] >= 0.0) || !std::isfinite(fieldOfView[a]))
  {
    itkGenericExceptionMacro(<< "the network field of view must be >= 0 mm on each axis, got " << fieldOfView);
  }
  return fieldOfView[a] > 0.0
           ? fieldOfView[a]
           : reference->GetSpacing()[a] * static_cast<double>(reference->GetLargestPossibleRegion().GetSize(a));
}
} // namespace

SHMoARegNetworkGrid::ImageType::Pointer
SHMoARegNetworkGrid::MakeGrid(const ImageBase<3> * reference,
                              const SizeType & size,
                              const FieldOfViewType & fieldOfView)
{
  if (reference == nullptr)
  {
    itkGenericExceptionMacro(<< "MakeGrid needs a reference image");
  }
  const auto region = reference->GetLargestPossibleRegion();
  ContinuousIndex<double, 3> centreIndex;
  for (unsigned int a = 0; a < 3; ++a)
  {
    centreIndex[a] = static_cast<double>(region.GetIndex(a)) + 0.5 * (static_cast<double>(region.GetSize(a)) - 1.0);
  }
  PointType centre;
  reference->TransformContinuousIndexToPhysicalPoint(centreIndex, centre);
  return MakeGrid(reference, size, fieldOfView, centre);
}

SHMoARegNetworkGrid::ImageType::Pointer
SHMoARegNetworkGrid::MakeGrid(const ImageBase<3> * reference,
                              const SizeType & size,
                              const FieldOfViewType & fieldOfView,
                              const PointType & boxCentre)
{
  if (reference == nullptr)
  {
    itkGenericExceptionMacro(<< "MakeGrid needs a reference image");
  }
  const auto region = reference->GetLargestPossibleRegion();
  ImageType::SpacingType spacing;
  Vector<double, 3> centreToFirst; // along the reference's axes, mm
  for (unsigned int a = 0; a < 3; ++a)
  {
    if (size[a] == 0 || region.GetSize(a) == 0)
    {
      itkGenericExceptionMacro(<< "MakeGrid needs non-empty sizes, got grid " << size << " for an image of size "
                               << region.GetSize());
    }
    const double length = boxLength(reference, fieldOfView, a);
    spacing[a] = length / static_cast<double>(size[a]);
    // The box's outer voxel edge is half its length from the centre; first centres half a voxel inside.
    centreToFirst[a] = -0.5 * length + 0.5 * spacing[a];
  }
  auto grid = ImageType::New();
  grid->SetRegions(size);
  grid->SetSpacing(spacing);
  grid->SetDirection(reference->GetDirection());
  grid->SetOrigin(boxCentre + reference->GetDirection() * centreToFirst);
  return grid;
}

SHMoARegNetworkGrid::SizeType
SHMoARegNetworkGrid::GridSizeForSpacing(const ImageBase<3> * reference,
                                        const FixedArray<double, 3> & spacing,
                                        const FieldOfViewType & fieldOfView)
{
  if (reference == nullptr)
  {
    itkGenericExceptionMacro(<< "GridSizeForSpacing needs a reference image");
  }
  SizeType size;
  for (unsigned int a = 0; a < 3; ++a)
  {
    if (!(spacing[a] > 0.0) || !std::isfinite(spacing[a]))
    {
      itkGenericExceptionMacro(<< "the network voxel size must be positive, got " << spacing);
    }
    size[a] = static_cast<SizeValueType>(std::max(1.0, std::round(boxLength(reference, fieldOfView, a) / spacing[a])));
  }
  return size;
}

void
SHMoARegNetworkGrid::NormalizeIntensities(ImageType * image, double lowPercentile, double highPercentile)
{
  float * begin = image->GetBufferPointer();
  const size_t n = image->GetBufferedRegion().GetNumberOfPixels();
  if (n == 0)
  {
    itkGenericExceptionMacro(<< "cannot normalise an empty image");
  }
  std::vector<float> sorted(begin, begin + n);
  for (float v : sorted)
  {
    if (!std::isfinite(v))
    {
      itkGenericExceptionMacro(<< "the image has NaN or infinite voxels");
    }
  }
  auto percentile = [&](double p) {
    const auto k = static_cast<size_t>(std::llround(p / 100.0 * static_cast<double>(n - 1)));
    std::nth_element(sorted.begin(), sorted.begin() + k, sorted.end());
    return sorted[k];
  };
  const float low = percentile(lowPercentile);
  const float high = percentile(highPercentile);
  const float range = high - low;
  std::transform(begin, begin + n, begin, [&](float v) {
    return range > 0.0f ? std::min(1.0f, std::max(0.0f, (v - low) / range)) : 0.0f;
  });
}

namespace {
SHMoARegNetworkGrid::DisplacementFieldType::Pointer
applyMatrix(const SHMoARegNetworkGrid::DisplacementFieldType * field, const Matrix<double, 3, 3> & m)
{
  using FieldType = SHMoARegNetworkGrid::DisplacementFieldType;
  auto out = FieldType::New();
  out->CopyInformation(field);
  out->SetRegions(field->GetBufferedRegion());
  out->Allocate();
  ImageRegionConstIterator<FieldType> in(field, field->GetBufferedRegion());
  ImageRegionIterator<FieldType> it(out, out->GetBufferedRegion());
  for (; !in.IsAtEnd(); ++in, ++it)
  {
    const auto & v = in.Get();
    FieldType::PixelType w;
    for (unsigned int r = 0; r < 3; ++r)
    {
      w[r] = static_cast<float>(m(r, 0) * v[0] + m(r, 1) * v[1] + m(r, 2) * v[2]);
    }
    it.Set(w);
  }
  return out;
}

Matrix<double, 3, 3>
directionTimesSpacing(const ImageBase<3> * image)
{
  Matrix<double, 3, 3> scale;
  scale.SetIdentity();
  for (unsigned int a = 0; a < 3; ++a)
  {
    scale(a, a) = image->GetSpacing()[a];
  }
  return image->GetDirection() * scale;
}
} // namespace

SHMoARegNetworkGrid::DisplacementFieldType::Pointer
SHMoARegNetworkGrid::VoxelToPhysical(const DisplacementFieldType * voxelField)
{
  return applyMatrix(voxelField, directionTimesSpacing(voxelField));
}

SHMoARegNetworkGrid::DisplacementFieldType::Pointer
SHMoARegNetworkGrid::PhysicalToVoxel(const DisplacementFieldType * physicalField)
{
  return applyMatrix(physicalField, Matrix<double, 3, 3>(directionTimesSpacing(physicalField).GetInverse()));
}

} // namespace itk
