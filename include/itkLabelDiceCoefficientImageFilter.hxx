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
#ifndef itkLabelDiceCoefficientImageFilter_hxx
#define itkLabelDiceCoefficientImageFilter_hxx

#include "itkLabelDiceCoefficientImageFilter.h"

#include "itkImageRegionConstIteratorWithIndex.h"

namespace itk {

template <typename TLabelImage>
void
LabelDiceCoefficientImageFilter<TLabelImage>::ComputeMeasures(const LabelImageType * source,
                                                              const LabelImageType * target)
{
  // Counts per label: [in source, in target, in both].
  std::map<LabelType, std::array<SizeValueType, 3>> counts;
  ImageRegionConstIteratorWithIndex<LabelImageType> s(source, source->GetLargestPossibleRegion());
  ImageRegionConstIteratorWithIndex<LabelImageType> t(target, target->GetLargestPossibleRegion());
  const LabelType background = NumericTraits<LabelType>::ZeroValue();
  for (; !s.IsAtEnd(); ++s, ++t)
  {
    const LabelType a = s.Get(), b = t.Get();
    Superclass::CheckLabelValue(a, s.GetIndex());
    Superclass::CheckLabelValue(b, t.GetIndex());
    if (a != background)
      ++counts[a][0];
    if (b != background)
      ++counts[b][1];
    if (a == b && a != background)
      ++counts[a][2];
  }
  m_Labels.clear();
  m_Dice.clear();
  double sum = 0.0;
  for (const auto & entry : counts)
  {
    const double dice =
      2.0 * static_cast<double>(entry.second[2]) / static_cast<double>(entry.second[0] + entry.second[1]);
    m_Labels.push_back(entry.first);
    m_Dice[entry.first] = dice;
    sum += dice;
  }
  m_MeanDiceCoefficient = m_Labels.empty() ? 0.0 : sum / static_cast<double>(m_Labels.size());
}

template <typename TLabelImage>
double
LabelDiceCoefficientImageFilter<TLabelImage>::GetDiceCoefficient(LabelType label) const
{
  const auto found = m_Dice.find(label);
  if (found == m_Dice.end())
  {
    itkExceptionMacro(<< "label " << static_cast<double>(label) << " is in neither image");
  }
  return found->second;
}

template <typename TLabelImage>
void
LabelDiceCoefficientImageFilter<TLabelImage>::PrintSelf(std::ostream & os, Indent indent) const
{
  Superclass::PrintSelf(os, indent);
  os << indent << "MeanDiceCoefficient: " << m_MeanDiceCoefficient << std::endl;
  for (const auto & entry : m_Dice)
  {
    os << indent << "  label " << static_cast<double>(entry.first) << ": " << entry.second << std::endl;
  }
}

} // namespace itk

#endif
