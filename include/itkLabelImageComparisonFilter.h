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
#ifndef itkLabelImageComparisonFilter_h
#define itkLabelImageComparisonFilter_h

#include "itkImageToImageFilter.h"

#include <map>
#include <vector>

namespace itk {

/** \class LabelImageComparisonFilter
 * \brief The shared part of filters that compare two label images on the same grid
 * (LabelDiceCoefficientImageFilter, AverageSymmetricSurfaceDistanceImageFilter).
 *
 * Inputs: SourceImage (e.g. the warped moving labels) and TargetImage (e.g. the fixed labels),
 * on the same grid. Label 0 is background. A label image whose pixel type is not an integer
 * must hold integer values. The output is the source image, passed through, so the filter sits
 * in a pipeline; the measures come from the subclass's getters after Update.
 *
 * \ingroup SHMoAReg
 */
template <typename TLabelImage>
class ITK_TEMPLATE_EXPORT LabelImageComparisonFilter : public ImageToImageFilter<TLabelImage, TLabelImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(LabelImageComparisonFilter);

  using Self = LabelImageComparisonFilter;
  using Superclass = ImageToImageFilter<TLabelImage, TLabelImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;
  itkTypeMacro(LabelImageComparisonFilter, ImageToImageFilter);

  using LabelImageType = TLabelImage;
  using LabelType = typename TLabelImage::PixelType;
  using RegionType = typename TLabelImage::RegionType;

  itkSetInputMacro(SourceImage, LabelImageType);
  itkGetInputMacro(SourceImage, LabelImageType);
  itkSetInputMacro(TargetImage, LabelImageType);
  itkGetInputMacro(TargetImage, LabelImageType);

protected:
  LabelImageComparisonFilter();
  ~LabelImageComparisonFilter() override = default;

  /** Voxel count and bounding region of one label in one image. */
  struct LabelExtent
  {
    SizeValueType Count{ 0 };
    RegionType BoundingRegion;
  };
  using LabelExtents = std::map<LabelType, LabelExtent>;

  /** Throws if a label of a non-integer pixel type is not an integer. */
  static void
  CheckLabelValue(LabelType label, const typename TLabelImage::IndexType & index);

  /** Non-zero labels of an image with their counts and bounding regions. */
  static LabelExtents
  CollectLabels(const LabelImageType * image);

  /** Computes the measures; source and target are valid and on the same grid. */
  virtual void
  ComputeMeasures(const LabelImageType * source, const LabelImageType * target) = 0;

  void
  GenerateInputRequestedRegion() override;
  void
  EnlargeOutputRequestedRegion(DataObject * output) override;
  void
  VerifyInputInformation() const override;
  void
  GenerateData() override;
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkLabelImageComparisonFilter.hxx"
#endif

#endif
