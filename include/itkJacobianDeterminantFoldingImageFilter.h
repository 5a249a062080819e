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
#ifndef itkJacobianDeterminantFoldingImageFilter_h
#define itkJacobianDeterminantFoldingImageFilter_h

#include "itkImageToImageFilter.h"

namespace itk {

/** \class JacobianDeterminantFoldingImageFilter
 * \brief The Jacobian determinant of x -> x + u(x) for a displacement field in physical
 * space, and how many voxels fold (determinant <= 0).
 *
 * The derivatives are taken in physical space: central differences along each index axis
 * (one-sided at the image border) divided by the spacing and rotated by the image direction,
 * J = I + (du/d index) diag(1/spacing) D^T. itk::DisplacementFieldJacobianDeterminantFilter
 * uses the spacing but ignores the direction, which changes the determinant of fields on
 * grids with a non-identity direction; hence this filter.
 *
 * Results after Update: the determinant image (output), GetNumberOfFoldedVoxels(),
 * GetNumberOfVoxels() (voxels counted: all, or the non-zero voxels of the optional mask on the
 * field's grid) and GetFoldingPercentage().
 *
 * \ingroup SHMoAReg
 */
template <typename TDisplacementField,
          typename TOutputImage = Image<float, TDisplacementField::ImageDimension>,
          typename TMaskImage = Image<unsigned char, TDisplacementField::ImageDimension>>
class ITK_TEMPLATE_EXPORT JacobianDeterminantFoldingImageFilter
  : public ImageToImageFilter<TDisplacementField, TOutputImage>
{
public:
  ITK_DISALLOW_COPY_AND_MOVE(JacobianDeterminantFoldingImageFilter);

  using Self = JacobianDeterminantFoldingImageFilter;
  using Superclass = ImageToImageFilter<TDisplacementField, TOutputImage>;
  using Pointer = SmartPointer<Self>;
  using ConstPointer = SmartPointer<const Self>;

  itkNewMacro(Self);
  itkTypeMacro(JacobianDeterminantFoldingImageFilter, ImageToImageFilter);

  static constexpr unsigned int ImageDimension = TDisplacementField::ImageDimension;
  using DisplacementFieldType = TDisplacementField;
  using OutputImageType = TOutputImage;
  using MaskImageType = TMaskImage;
  using OutputImageRegionType = typename OutputImageType::RegionType;

  itkSetInputMacro(MaskImage, MaskImageType);
  itkGetInputMacro(MaskImage, MaskImageType);

  itkGetConstMacro(NumberOfFoldedVoxels, SizeValueType);
  itkGetConstMacro(NumberOfVoxels, SizeValueType);
  /** 100 * folded / counted voxels. */
  itkGetConstMacro(FoldingPercentage, double);

protected:
  JacobianDeterminantFoldingImageFilter();
  ~JacobianDeterminantFoldingImageFilter() override = default;

  void
  GenerateInputRequestedRegion() override;
  void
  VerifyInputInformation() const override;
  void
  DynamicThreadedGenerateData(const OutputImageRegionType & region) override;
  void
  AfterThreadedGenerateData() override;
  void
  PrintSelf(std::ostream & os, Indent indent) const override;

private:
  SizeValueType m_NumberOfFoldedVoxels{ 0 };
  SizeValueType m_NumberOfVoxels{ 0 };
  double m_FoldingPercentage{ 0.0 };
};

} // namespace itk

#ifndef ITK_MANUAL_INSTANTIATION
#  include "itkJacobianDeterminantFoldingImageFilter.hxx"
#endif

#endif
