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
#ifndef itkLabelDiceCoefficientImageFilter_h
#define itkLabelDiceCoefficientImageFilter_h

#include "itkLabelImageComparisonFilter.h"

namespace itk {

/** \class LabelDiceCoefficientImageFilter
 * \brief Dice coefficient 2|A and B| / (|A| + |B|) of every label of two label images on the
 * same grid, and their mean.
 *
 * Labels are the non-zero values present in either image (label 0 is background); a label
 * present in one image only has Dice 0 and counts in the mean. GetDiceCoefficient(label) of a
 * label in neither image throws.
 *
 * \ingroup SHMoAReg
 */
template <typename TLabelImage>
class ITK_TEMPLATE_EXPORT LabelDiceCoefficientImageFilter : public LabelImageComparisonFilter<TLabelImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(LabelDiceCoefficientImageFilter);

  using Self = LabelDiceCoefficientImageFilter;
  using Superclass = LabelImageComparisonFilter<TLabelImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;
  itkNewMacro(Self);
  itkTypeMacro(LabelDiceCoefficientImageFilter, LabelImageComparisonFilter);

  using LabelImageType = TLabelImage;
  using LabelType = typename TLabelImage::PixelType;

  const std::vector<LabelType> &
  GetLabels() const
  {
    return m_Labels;
  }
  double
  GetDiceCoefficient(LabelType label) const;
  itkGetConstMacro(MeanDiceCoefficient, double);

protected:
  LabelDiceCoefficientImageFilter() = default;
  ~LabelDiceCoefficientImageFilter() override = default;
  void
  ComputeMeasures(const LabelImageType * source, const LabelImageType * target) override;
  void
  PrintSelf(std::ostream & os, Indent indent) const override;

private:
  std::vector<LabelType> m_Labels;
  std::map<LabelType, double> m_Dice;
  double m_MeanDiceCoefficient{ 0.0 };
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkLabelDiceCoefficientImageFilter.hxx"
#endif

#endif
