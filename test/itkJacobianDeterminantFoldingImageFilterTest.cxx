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
#include "itkJacobianDeterminantFoldingImageFilter.h"

#include "itkEuler3DTransform.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkTestingMacros.h"

#include <cmath>
#include <functional>

namespace {
using FieldType = itk::Image<itk::Vector<float, 3>, 3>;
using FilterType = itk::JacobianDeterminantFoldingImageFilter<FieldType>;

FieldType::Pointer
makeField(const std::function<itk::Vector<double, 3>(const itk::Point<double, 3> &, const itk::Index<3> &)> & u)
{
  auto field = FieldType::New();
  field->SetRegions(FieldType::SizeType{ { 20, 16, 12 } });
  const double spacing[3] = { 1.5, 2.0, 3.0 };
  field->SetSpacing(spacing);
  auto rotation = itk::Euler3DTransform<double>::New();
  rotation->SetRotation(0.3, 0.2, -0.4);
  field->SetDirection(rotation->GetMatrix());
  field->Allocate();
  itk::ImageRegionIteratorWithIndex<FieldType> it(field, field->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    itk::Point<double, 3> p;
    field->TransformIndexToPhysicalPoint(it.GetIndex(), p);
    const auto v = u(p, it.GetIndex());
    FieldType::PixelType w;
    for (unsigned int a = 0; a < 3; ++a)
      w[a] = static_cast<float>(v[a]);
    it.Set(w);
  }
  return field;
}
} // namespace

int
itkJacobianDeterminantFoldingImageFilterTest(int, char *[])
{
  // u(x) = A x in physical space: det(I + A) everywhere, with any spacing and direction.
  itk::Matrix<double, 3, 3> A;
  A(0, 0) = 0.10;
  A(0, 1) = 0.05;
  A(0, 2) = -0.02;
  A(1, 0) = -0.03;
  A(1, 1) = -0.20;
  A(1, 2) = 0.04;
  A(2, 0) = 0.06;
  A(2, 1) = 0.01;
  A(2, 2) = 0.15;
  itk::Matrix<double, 3, 3> identityPlusA = A;
  for (unsigned int a = 0; a < 3; ++a)
    identityPlusA(a, a) += 1.0;
  const double expected = vnl_det(identityPlusA.GetVnlMatrix());
  auto linear = makeField([&](const itk::Point<double, 3> & p, const itk::Index<3> &) {
    return A * itk::Vector<double, 3>(p.GetDataPointer());
  });
  auto filter = FilterType::New();
  ITK_EXERCISE_BASIC_OBJECT_METHODS(filter, JacobianDeterminantFoldingImageFilter, ImageToImageFilter);
  filter->SetInput(linear);
  filter->Update();
  double worst = 0.0;
  itk::ImageRegionConstIterator<FilterType::OutputImageType> it(filter->GetOutput(),
                                                                filter->GetOutput()->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
    worst = std::max(worst, std::abs(it.Get() - expected));
  std::cout << "det(I + A) = " << expected << ", largest deviation " << worst << std::endl;
  ITK_TEST_EXPECT_TRUE(worst < 1e-4);
  ITK_TEST_EXPECT_EQUAL(filter->GetNumberOfFoldedVoxels(), 0u);
  ITK_TEST_EXPECT_EQUAL(filter->GetNumberOfVoxels(), 20u * 16u * 12u);

  // A known folded region: along the first index axis, u = -3 s_0 i d_0 for i <= 10 and
  // constant beyond (d_0 = the first direction column): det = -2 for i < 10, -0.5 at i = 10
  // (central difference over the kink), 1 beyond: 11 of 20 columns fold.
  auto folded = makeField([&](const itk::Point<double, 3> &, const itk::Index<3> & index) {
    const double i = static_cast<double>(std::min<itk::IndexValueType>(index[0], 10));
    itk::Vector<double, 3> v;
    for (unsigned int r = 0; r < 3; ++r)
      v[r] = -3.0 * 1.5 * i * linear->GetDirection()(r, 0);
    return v;
  });
  filter->SetInput(folded);
  filter->Update();
  ITK_TEST_EXPECT_EQUAL(filter->GetNumberOfFoldedVoxels(), 11u * 16u * 12u);
  ITK_TEST_EXPECT_TRUE(std::abs(filter->GetFoldingPercentage() - 100.0 * 11.0 / 20.0) < 1e-9);
  ITK_TEST_EXPECT_TRUE(std::abs(filter->GetOutput()->GetPixel({ { 4, 3, 2 } }) + 2.0f) < 1e-4f);
  ITK_TEST_EXPECT_TRUE(std::abs(filter->GetOutput()->GetPixel({ { 10, 3, 2 } }) + 0.5f) < 1e-4f);
  ITK_TEST_EXPECT_TRUE(std::abs(filter->GetOutput()->GetPixel({ { 15, 3, 2 } }) - 1.0f) < 1e-4f);

  // A mask restricts the counting: the half i >= 10 holds only the kink column's fold.
  auto mask = FilterType::MaskImageType::New();
  mask->CopyInformation(folded);
  mask->SetRegions(folded->GetLargestPossibleRegion());
  mask->Allocate();
  itk::ImageRegionIteratorWithIndex<FilterType::MaskImageType> m(mask, mask->GetLargestPossibleRegion());
  for (; !m.IsAtEnd(); ++m)
    m.Set(m.GetIndex()[0] >= 10 ? 1 : 0);
  filter->SetMaskImage(mask);
  filter->Update();
  ITK_TEST_EXPECT_EQUAL(filter->GetNumberOfVoxels(), 10u * 16u * 12u);
  ITK_TEST_EXPECT_EQUAL(filter->GetNumberOfFoldedVoxels(), 16u * 12u);

  // A mask on another grid is refused.
  auto wrongMask = FilterType::MaskImageType::New();
  wrongMask->SetRegions(FilterType::MaskImageType::SizeType{ { 5, 5, 5 } });
  wrongMask->Allocate(true);
  filter->SetMaskImage(wrongMask);
  ITK_TRY_EXPECT_EXCEPTION(filter->Update());

  std::cout << "Test finished." << std::endl;
  return EXIT_SUCCESS;
}
