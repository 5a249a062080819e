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
#ifndef itkLabelImageComparisonFilter_hxx
#define itkLabelImageComparisonFilter_hxx

#include "itkLabelImageComparisonFilter.h"

#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkSHMoARegImageGrid.h"

#include <cmath>

namespace itk {

template <typename TLabelImage>
LabelImageComparisonFilter<TLabelImage>::LabelImageComparisonFilter()
{
  this->SetPrimaryInputName("SourceImage");
  this->AddRequiredInputName("TargetImage", 1);
}

template <typename TLabelImage>
void
LabelImageComparisonFilter<TLabelImage>::CheckLabelValue(LabelType label, const typename TLabelImage::IndexType & index)
{
  if (!NumericTraits<LabelType>::is_integer && static_cast<double>(label) != std::floor(static_cast<double>(label)))
  {
    itkGenericExceptionMacro(<< "a label image has the non-integer value " << static_cast<double>(label) << " at index "
                             << index);
  }
}

template <typename TLabelImage>
auto
LabelImageComparisonFilter<TLabelImage>::CollectLabels(const LabelImageType * image) -> LabelExtents
{
  using IndexType = typename TLabelImage::IndexType;
  constexpr unsigned int D = TLabelImage::ImageDimension;
  std::map<LabelType, std::pair<IndexType, IndexType>> corners;
  LabelExtents extents;
  ImageRegionConstIteratorWithIndex<TLabelImage> it(image, image->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    const LabelType label = it.Get();
    CheckLabelValue(label, it.GetIndex());
    if (label == NumericTraits<LabelType>::ZeroValue())
    {
      continue;
    }
    const IndexType index = it.GetIndex();
    auto found = corners.find(label);
    if (found == corners.end())
    {
      corners.emplace(label, std::make_pair(index, index));
    }
    else
    {
      for (unsigned int a = 0; a < D; ++a)
      {
        found->second.first[a] = std::min(found->second.first[a], index[a]);
        found->second.second[a] = std::max(found->second.second[a], index[a]);
      }
    }
    ++extents[label].Count;
  }
  for (auto & entry : extents)
  {
    const auto & c = corners[entry.first];
    typename RegionType::SizeType size;
    for (unsigned int a = 0; a < D; ++a)
    {
      size[a] = static_cast<SizeValueType>(c.second[a] - c.first[a] + 1);
    }
    entry.second.BoundingRegion = RegionType(c.first, size);
  }
  return extents;
}

template <typename TLabelImage>
void
LabelImageComparisonFilter<TLabelImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  for (const auto & name : this->GetInputNames())
  {
    if (auto * input = dynamic_cast<LabelImageType *>(this->ProcessObject::GetInput(name)))
    {
      input->SetRequestedRegionToLargestPossibleRegion();
    }
  }
}

template <typename TLabelImage>
void
LabelImageComparisonFilter<TLabelImage>::EnlargeOutputRequestedRegion(DataObject * output)
{
  Superclass::EnlargeOutputRequestedRegion(output);
  output->SetRequestedRegionToLargestPossibleRegion();
}

template <typename TLabelImage>
void
LabelImageComparisonFilter<TLabelImage>::VerifyInputInformation() const
{
  const LabelImageType * source = this->GetSourceImage();
  const LabelImageType * target = this->GetTargetImage();
  if (!source || !target)
  {
    return; // the pipeline reports missing required inputs
  }
  if (source->GetLargestPossibleRegion().GetNumberOfPixels() == 0)
  {
    itkExceptionMacro(<< "the source label image is empty");
  }
  const std::string difference = SHMoARegImageGrid::DescribeGridDifference<TLabelImage::ImageDimension>(source, target);
  if (!difference.empty())
  {
    itkExceptionMacro(<< "the source and target label images lie on different grids (source vs target: " << difference
                      << "); resample one onto the other first");
  }
}

template <typename TLabelImage>
void
LabelImageComparisonFilter<TLabelImage>::GenerateData()
{
  this->ComputeMeasures(this->GetSourceImage(), this->GetTargetImage());
  this->GraftOutput(const_cast<LabelImageType *>(this->GetSourceImage()));
}

} // namespace itk

#endif
