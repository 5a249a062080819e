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
#ifndef itkAverageSymmetricSurfaceDistanceImageFilter_h
#define itkAverageSymmetricSurfaceDistanceImageFilter_h

#include "itkLabelImageComparisonFilter.h"

namespace itk {

/** \class AverageSymmetricSurfaceDistanceImageFilter
 * \brief Average symmetric surface distance (ASSD, in mm) of every label of two label images on
 * the same grid, and the mean over labels.
 *
 * For a label, the surface of a region is its boundary voxels (voxels of the region with a
 * face neighbour outside it, or on the image border). With d(x, S) the distance from voxel x
 * to the nearest voxel centre of surface S, read from a signed Maurer distance map that uses
 * the spacing,
 *   ASSD = (sum_{a in dA} d(a, dB) + sum_{b in dB} d(b, dA)) / (|dA| + |dB|),
 * pooled over both directions (Taha & Hanbury 2015). ITK's
 * HausdorffDistanceImageFilter::GetAverageHausdorffDistance averages over all foreground voxels
 * and ContourDirectedMeanDistanceImageFilter over one direction: neither is this measure.
 *
 * Labels are the non-zero values present in both images; labels in one image only have no
 * ASSD and are listed by GetLabelsInOneImageOnly().
 *
 * \ingroup SHMoAReg
 */
template <typename TLabelImage>
class ITK_TEMPLATE_EXPORT AverageSymmetricSurfaceDistanceImageFilter : public LabelImageComparisonFilter<TLabelImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(AverageSymmetricSurfaceDistanceImageFilter);

  using Self = AverageSymmetricSurfaceDistanceImageFilter;
  using Superclass = LabelImageComparisonFilter<TLabelImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;
  itkNewMacro(Self);
  itkTypeMacro(AverageSymmetricSurfaceDistanceImageFilter, LabelImageComparisonFilter);

  using LabelImageType = TLabelImage;
  using LabelType = typename TLabelImage::PixelType;

  const std::vector<LabelType> &
  GetLabels() const
  {
    return m_Labels;
  }
  const std::vector<LabelType> &
  GetLabelsInOneImageOnly() const
  {
    return m_LabelsInOneImageOnly;
  }
  /** ASSD of one label, mm. */
  double
  GetAverageSymmetricSurfaceDistance(LabelType label) const;
  /** Mean of the per-label ASSDs, mm. */
  itkGetConstMacro(MeanAverageSymmetricSurfaceDistance, double);

protected:
  AverageSymmetricSurfaceDistanceImageFilter() = default;
  ~AverageSymmetricSurfaceDistanceImageFilter() override = default;
  void
  ComputeMeasures(const LabelImageType * source, const LabelImageType * target) override;
  void
  PrintSelf(std::ostream & os, Indent indent) const override;

private:
  std::vector<LabelType> m_Labels;
  std::vector<LabelType> m_LabelsInOneImageOnly;
  std::map<LabelType, double> m_Distances;
  double m_MeanAverageSymmetricSurfaceDistance{ 0.0 };
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkAverageSymmetricSurfaceDistanceImageFilter.hxx"
#endif

#endif
