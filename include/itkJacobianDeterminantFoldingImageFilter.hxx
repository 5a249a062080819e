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
#ifndef itkJacobianDeterminantFoldingImageFilter_hxx
#define itkJacobianDeterminantFoldingImageFilter_hxx

#include "itkJacobianDeterminantFoldingImageFilter.h"

#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "vnl/vnl_det.h"

namespace itk {

template <typename TDisplacementField, typename TOutputImage, typename TMaskImage>
JacobianDeterminantFoldingImageFilter<TDisplacementField, TOutputImage, TMaskImage>::
  JacobianDeterminantFoldingImageFilter()
{
  this->AddOptionalInputName("MaskImage", 1);
  this->DynamicMultiThreadingOn();
}

template <typename TDisplacementField, typename TOutputImage, typename TMaskImage>
void
JacobianDeterminantFoldingImageFilter<TDisplacementField, TOutputImage, TMaskImage>::GenerateInputRequestedRegion()
{
  Superclass::GenerateInputRequestedRegion();
  // Neighbours of the requested region are read: take the whole field.
  if (auto * input = const_cast<DisplacementFieldType *>(this->GetInput()))
  {
    input->SetRequestedRegionToLargestPossibleRegion();
  }
  if (auto * mask = const_cast<MaskImageType *>(this->GetMaskImage()))
  {
    mask->SetRequestedRegionToLargestPossibleRegion();
  }
}

template <typename TDisplacementField, typename TOutputImage, typename TMaskImage>
void
JacobianDeterminantFoldingImageFilter<TDisplacementField, TOutputImage, TMaskImage>::VerifyInputInformation() const
{
  const MaskImageType * mask = this->GetMaskImage();
  const DisplacementFieldType * field = this->GetInput();
  if (field && field->GetLargestPossibleRegion().GetNumberOfPixels() == 0)
  {
    itkExceptionMacro(<< "the displacement field is empty");
  }
  if (mask && field && mask->GetLargestPossibleRegion() != field->GetLargestPossibleRegion())
  {
    itkExceptionMacro(<< "the mask (size " << mask->GetLargestPossibleRegion().GetSize()
                      << ") must lie on the field's grid (size " << field->GetLargestPossibleRegion().GetSize() << ")");
  }
  Superclass::VerifyInputInformation(); // same physical space for field and mask
}

template <typename TDisplacementField, typename TOutputImage, typename TMaskImage>
void
JacobianDeterminantFoldingImageFilter<TDisplacementField, TOutputImage, TMaskImage>::DynamicThreadedGenerateData(
  const OutputImageRegionType & region)
{
  const DisplacementFieldType * field = this->GetInput();
  const auto whole = field->GetLargestPossibleRegion();
  // d index / d x_physical = diag(1 / spacing) D^T.
  vnl_matrix_fixed<double, ImageDimension, ImageDimension> indexToPhysicalInverse =
    field->GetDirection().GetTranspose();
  for (unsigned int a = 0; a < ImageDimension; ++a)
  {
    indexToPhysicalInverse.scale_row(a, 1.0 / field->GetSpacing()[a]);
  }

  ImageRegionIteratorWithIndex<OutputImageType> out(this->GetOutput(), region);
  for (; !out.IsAtEnd(); ++out)
  {
    const auto index = out.GetIndex();
    vnl_matrix_fixed<double, ImageDimension, ImageDimension> gradient; // [component][index axis]
    for (unsigned int a = 0; a < ImageDimension; ++a)
    {
      auto lower = index, upper = index;
      const IndexValueType first = whole.GetIndex(a);
      const IndexValueType last = first + static_cast<IndexValueType>(whole.GetSize(a)) - 1;
      lower[a] = std::max(first, index[a] - 1);
      upper[a] = std::min(last, index[a] + 1);
      const double steps = static_cast<double>(upper[a] - lower[a]);
      const auto & uLower = field->GetPixel(lower);
      const auto & uUpper = field->GetPixel(upper);
      for (unsigned int c = 0; c < ImageDimension; ++c)
      {
        gradient(c, a) = steps > 0 ? (static_cast<double>(uUpper[c]) - static_cast<double>(uLower[c])) / steps : 0.0;
      }
    }
    vnl_matrix_fixed<double, ImageDimension, ImageDimension> jacobian = gradient * indexToPhysicalInverse;
    for (unsigned int a = 0; a < ImageDimension; ++a)
    {
      jacobian(a, a) += 1.0;
    }
    out.Set(static_cast<typename OutputImageType::PixelType>(vnl_det(jacobian)));
  }
}

template <typename TDisplacementField, typename TOutputImage, typename TMaskImage>
void
JacobianDeterminantFoldingImageFilter<TDisplacementField, TOutputImage, TMaskImage>::AfterThreadedGenerateData()
{
  const OutputImageType * determinant = this->GetOutput();
  const MaskImageType * mask = this->GetMaskImage();
  m_NumberOfFoldedVoxels = 0;
  m_NumberOfVoxels = 0;
  ImageRegionConstIterator<OutputImageType> it(determinant, determinant->GetRequestedRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    if (mask && mask->GetPixel(it.GetIndex()) == NumericTraits<typename MaskImageType::PixelType>::ZeroValue())
    {
      continue;
    }
    ++m_NumberOfVoxels;
    if (it.Get() <= 0)
    {
      ++m_NumberOfFoldedVoxels;
    }
  }
  m_FoldingPercentage = m_NumberOfVoxels > 0
                          ? 100.0 * static_cast<double>(m_NumberOfFoldedVoxels) / static_cast<double>(m_NumberOfVoxels)
                          : 0.0;
}

template <typename TDisplacementField, typename TOutputImage, typename TMaskImage>
void
JacobianDeterminantFoldingImageFilter<TDisplacementField, TOutputImage, TMaskImage>::PrintSelf(std::ostream & os,
                                                                                               Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "NumberOfFoldedVoxels: " << m_NumberOfFoldedVoxels << std::endl;
  os << indent << "NumberOfVoxels: " << m_NumberOfVoxels << std::endl;
  os << indent << "FoldingPercentage: " << m_FoldingPercentage << std::endl;
}

} // namespace itk

#endif
