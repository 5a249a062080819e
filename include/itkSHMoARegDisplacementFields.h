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
#ifndef itkSHMoARegDisplacementFields_h
#define itkSHMoARegDisplacementFields_h

#include "itkCastImageFilter.h"
#include "itkDisplacementFieldTransform.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkInvertDisplacementFieldImageFilter.h"
#include "itkResampleImageFilter.h"

namespace itk {

/** \class SHMoARegDisplacementFields
 * \brief The operations on displacement fields (x -> x + u(x), mm) that the registration filter
 * and the command line share, each in one place.
 *
 * \ingroup SHMoAReg
 */
class SHMoARegDisplacementFields
{
public:
  /** What Invert returns: the inverse field and the residuals |u(y + v(y)) + v(y)| (mm) left. */
  template <typename TField>
  struct Inversion
  {
    typename TField::Pointer Inverse;
    double MaximumResidual{ 0.0 };
    double MeanResidual{ 0.0 };
  };

  /** The field in a DisplacementFieldTransform (double precision; for transform files and
   * composite transforms). */
  template <typename TField>
  static typename DisplacementFieldTransform<double, TField::ImageDimension>::Pointer
  ToTransform(const TField * field)
  {
    using TransformType = DisplacementFieldTransform<double, TField::ImageDimension>;
    auto cast = CastImageFilter<TField, typename TransformType::DisplacementFieldType>::New();
    cast->SetInput(field);
    cast->Update();
    auto transform = TransformType::New();
    transform->SetDisplacementField(cast->GetOutput());
    return transform;
  }

  /** The inverse of x -> x + u(x) on `grid`'s voxels (the field sampled there linearly, zero
   * outside its extent), by fixed-point iteration (InvertDisplacementFieldImageFilter):
   * v(y) = -u(y + v(y)), at most `iterations` passes, stopping once the largest residual is
   * below `tolerance` mm and the mean below a tenth of it. */
  template <typename TField>
  static Inversion<TField>
  Invert(const TField * field,
         const ImageBase<TField::ImageDimension> * grid,
         unsigned int iterations,
         double tolerance,
         ThreadIdType workUnits)
  {
    constexpr unsigned int Dimension = TField::ImageDimension;
    using RealFieldType = Image<Vector<double, Dimension>, Dimension>;
    auto toReal = CastImageFilter<TField, RealFieldType>::New();
    toReal->SetInput(field);
    auto onGrid = ResampleImageFilter<RealFieldType, RealFieldType>::New();
    onGrid->SetInput(toReal->GetOutput());
    onGrid->SetOutputParametersFromImage(grid);
    onGrid->SetNumberOfWorkUnits(workUnits);
    auto invert = InvertDisplacementFieldImageFilter<RealFieldType>::New();
    invert->SetInput(onGrid->GetOutput());
    invert->SetMaximumNumberOfIterations(iterations);
    invert->SetMaxErrorToleranceThreshold(tolerance);
    invert->SetMeanErrorToleranceThreshold(tolerance / 10.0);
    invert->SetEnforceBoundaryCondition(false);
    invert->SetNumberOfWorkUnits(workUnits);
    auto toField = CastImageFilter<RealFieldType, TField>::New();
    toField->SetInput(invert->GetOutput());
    toField->Update();
    Inversion<TField> result;
    result.Inverse = toField->GetOutput();
    result.Inverse->DisconnectPipeline();
    result.MaximumResidual = invert->GetMaxErrorNorm();
    result.MeanResidual = invert->GetMeanErrorNorm();
    return result;
  }

  /** A copy of the field followed by a transform: x -> t(x + u(x)), as a displacement on the
   * field's grid. The registration filter's output is its network's field followed by the
   * initial transform the network registered through. */
  template <typename TField, typename TTransform>
  static typename TField::Pointer
  FollowedBy(const TField * field, const TTransform * transform)
  {
    constexpr unsigned int Dimension = TField::ImageDimension;
    auto composed = TField::New();
    composed->CopyInformation(field);
    composed->SetRegions(field->GetBufferedRegion());
    composed->Allocate();
    ImageRegionConstIteratorWithIndex<TField> in(field, field->GetBufferedRegion());
    ImageRegionIterator<TField> out(composed, composed->GetBufferedRegion());
    for (; !in.IsAtEnd(); ++in, ++out)
    {
      typename TTransform::InputPointType x;
      field->TransformIndexToPhysicalPoint(in.GetIndex(), x);
      typename TTransform::InputPointType moved = x;
      for (unsigned int a = 0; a < Dimension; ++a)
      {
        moved[a] += in.Get()[a];
      }
      const auto mapped = transform->TransformPoint(moved);
      typename TField::PixelType displacement;
      for (unsigned int a = 0; a < Dimension; ++a)
      {
        displacement[a] = static_cast<typename TField::PixelType::ValueType>(mapped[a] - x[a]);
      }
      out.Set(displacement);
    }
    return composed;
  }
};

} // namespace itk

#endif
