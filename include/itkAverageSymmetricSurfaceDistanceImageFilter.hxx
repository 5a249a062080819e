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
#ifndef itkAverageSymmetricSurfaceDistanceImageFilter_hxx
#define itkAverageSymmetricSurfaceDistanceImageFilter_hxx

#include "itkAverageSymmetricSurfaceDistanceImageFilter.h"

#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkSignedMaurerDistanceMapImageFilter.h"

namespace itk {

namespace shmoareg_detail {
// Binary mask (1 inside) of `label` within `region`, on the same physical grid.
template <typename TLabelImage>
typename Image<unsigned char, TLabelImage::ImageDimension>::Pointer
ExtractLabelMask(const TLabelImage * labels,
                 typename TLabelImage::PixelType label,
                 const typename TLabelImage::RegionType & region)
{
  using MaskType = Image<unsigned char, TLabelImage::ImageDimension>;
  auto mask = MaskType::New();
  mask->CopyInformation(labels);
  mask->SetRegions(region);
  mask->Allocate();
  ImageRegionConstIteratorWithIndex<TLabelImage> in(labels, region);
  ImageRegionIteratorWithIndex<MaskType> out(mask, region);
  for (; !in.IsAtEnd(); ++in, ++out)
  {
    out.Set(in.Get() == label ? 1 : 0);
  }
  return mask;
}

// True if a mask voxel is inside and has a face neighbour outside (or the region's border
// beyond which the mask is outside).
template <typename TMask>
bool
IsSurfaceVoxel(const TMask * mask, const typename TMask::IndexType & index)
{
  if (mask->GetPixel(index) == 0)
  {
    return false;
  }
  const auto region = mask->GetBufferedRegion();
  for (unsigned int a = 0; a < TMask::ImageDimension; ++a)
  {
    for (int step : { -1, 1 })
    {
      auto neighbour = index;
      neighbour[a] += step;
      if (!region.IsInside(neighbour) || mask->GetPixel(neighbour) == 0)
      {
        return true;
      }
    }
  }
  return false;
}

// Sum over the surface voxels of `from` of |distance map of `to`|, and their number.
template <typename TMask, typename TDistance>
std::pair<double, SizeValueType>
SurfaceDistanceSum(const TMask * from, const TDistance * toDistance)
{
  std::pair<double, SizeValueType> sum{ 0.0, 0 };
  ImageRegionConstIteratorWithIndex<TMask> it(from, from->GetBufferedRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    if (IsSurfaceVoxel(from, it.GetIndex()))
    {
      sum.first += std::abs(static_cast<double>(toDistance->GetPixel(it.GetIndex())));
      ++sum.second;
    }
  }
  return sum;
}
} // namespace shmoareg_detail

template <typename TLabelImage>
void
AverageSymmetricSurfaceDistanceImageFilter<TLabelImage>::ComputeMeasures(const LabelImageType * source,
                                                                         const LabelImageType * target)
{
  using MaskType = Image<unsigned char, TLabelImage::ImageDimension>;
  using DistanceType = Image<float, TLabelImage::ImageDimension>;
  const auto sourceLabels = Superclass::CollectLabels(source);
  const auto targetLabels = Superclass::CollectLabels(target);
  m_Labels.clear();
  m_LabelsInOneImageOnly.clear();
  m_Distances.clear();
  for (const auto & entry : sourceLabels)
  {
    if (!targetLabels.count(entry.first))
      m_LabelsInOneImageOnly.push_back(entry.first);
  }
  for (const auto & entry : targetLabels)
  {
    if (!sourceLabels.count(entry.first))
      m_LabelsInOneImageOnly.push_back(entry.first);
  }

  double sum = 0.0;
  const auto whole = source->GetLargestPossibleRegion();
  for (const auto & entry : sourceLabels)
  {
    const LabelType label = entry.first;
    const auto other = targetLabels.find(label);
    if (other == targetLabels.end())
      continue;
    // Work on the union of both bounding boxes, one voxel larger, so that the nearest surface
    // voxels are inside and surfaces at the box edge are real.
    auto region = entry.second.BoundingRegion;
    for (unsigned int a = 0; a < TLabelImage::ImageDimension; ++a)
    {
      const IndexValueType lo = std::min(region.GetIndex(a), other->second.BoundingRegion.GetIndex(a)) - 1;
      const IndexValueType hi = std::max(region.GetIndex(a) + static_cast<IndexValueType>(region.GetSize(a)),
                                         other->second.BoundingRegion.GetIndex(a) +
                                           static_cast<IndexValueType>(other->second.BoundingRegion.GetSize(a))) +
                                1;
      region.SetIndex(a, lo);
      region.SetSize(a, static_cast<SizeValueType>(hi - lo));
    }
    region.Crop(whole);

    const auto maskA = shmoareg_detail::ExtractLabelMask(source, label, region);
    const auto maskB = shmoareg_detail::ExtractLabelMask(target, label, region);
    auto distanceTo = [](const MaskType * mask) {
      auto maurer = SignedMaurerDistanceMapImageFilter<MaskType, DistanceType>::New();
      maurer->SetInput(mask);
      maurer->SetUseImageSpacing(true);
      maurer->SetSquaredDistance(false);
      maurer->SetInsideIsPositive(false);
      maurer->SetBackgroundValue(0);
      maurer->Update();
      return typename DistanceType::Pointer(maurer->GetOutput());
    };
    const auto toA = distanceTo(maskA);
    const auto toB = distanceTo(maskB);
    const auto fromA = shmoareg_detail::SurfaceDistanceSum(maskA.GetPointer(), toB.GetPointer());
    const auto fromB = shmoareg_detail::SurfaceDistanceSum(maskB.GetPointer(), toA.GetPointer());
    const double assd = (fromA.first + fromB.first) / static_cast<double>(fromA.second + fromB.second);
    m_Labels.push_back(label);
    m_Distances[label] = assd;
    sum += assd;
  }
  m_MeanAverageSymmetricSurfaceDistance = m_Labels.empty() ? 0.0 : sum / static_cast<double>(m_Labels.size());
}

template <typename TLabelImage>
double
AverageSymmetricSurfaceDistanceImageFilter<TLabelImage>::GetAverageSymmetricSurfaceDistance(LabelType label) const
{
  const auto found = m_Distances.find(label);
  if (found == m_Distances.end())
  {
    itkExceptionMacro(<< "label " << static_cast<double>(label) << " is not in both images");
  }
  return found->second;
}

template <typename TLabelImage>
void
AverageSymmetricSurfaceDistanceImageFilter<TLabelImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "MeanAverageSymmetricSurfaceDistance: " << m_MeanAverageSymmetricSurfaceDistance << std::endl;
  for (const auto & entry : m_Distances)
  {
    os << indent << "  label " << static_cast<double>(entry.first) << ": " << entry.second << " mm" << std::endl;
  }
}

} // namespace itk

#endif
