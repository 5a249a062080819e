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
#include "itkAverageSymmetricSurfaceDistanceImageFilter.h"
#include "itkLabelDiceCoefficientImageFilter.h"

#include "itkImageRegionIteratorWithIndex.h"
#include "itkTestingMacros.h"

#include <cmath>
#include <array>
#include <functional>

namespace {
using LabelImageType = itk::Image<unsigned char, 3>;

LabelImageType::Pointer
makeLabels(const LabelImageType::SizeType & size,
           const double spacing[3],
           const std::function<unsigned char(const itk::Point<double, 3> &, const itk::Index<3> &)> & label)
{
  auto image = LabelImageType::New();
  image->SetRegions(size);
  image->SetSpacing(spacing);
  image->Allocate();
  itk::ImageRegionIteratorWithIndex<LabelImageType> it(image, image->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    itk::Point<double, 3> p;
    image->TransformIndexToPhysicalPoint(it.GetIndex(), p);
    it.Set(label(p, it.GetIndex()));
  }
  return image;
}

bool
inCube(const itk::Index<3> & i, int lo, int hi)
{
  return i[0] >= lo && i[0] < hi && i[1] >= lo && i[1] < hi && i[2] >= lo && i[2] < hi;
}
} // namespace

int
itkLabelComparisonFiltersTest(int, char *[])
{
  const double unit[3] = { 1.0, 1.0, 1.0 };
  const LabelImageType::SizeType size{ { 30, 30, 30 } };

  // Dice of two cubes: label 1 is a 10^3 cube in both, shifted by 2 voxels along i in the
  // target: overlap 8 x 10 x 10 -> Dice = 2 * 800 / 2000 = 0.8. Label 2 is identical: 1.
  // Label 3 exists in the source only: 0.
  auto source = makeLabels(size, unit, [](const itk::Point<double, 3> &, const itk::Index<3> & i) -> unsigned char {
    if (inCube(i, 5, 15))
      return 1;
    if (i[0] >= 20 && i[0] < 25 && i[1] < 5)
      return 2;
    return i[2] == 29 ? 3 : 0;
  });
  auto target = makeLabels(size, unit, [](const itk::Point<double, 3> &, const itk::Index<3> & i) -> unsigned char {
    itk::Index<3> shifted = i;
    shifted[0] -= 2;
    if (inCube(shifted, 5, 15))
      return 1;
    if (i[0] >= 20 && i[0] < 25 && i[1] < 5)
      return 2;
    return 0;
  });
  auto dice = itk::LabelDiceCoefficientImageFilter<LabelImageType>::New();
  ITK_EXERCISE_BASIC_OBJECT_METHODS(dice, LabelDiceCoefficientImageFilter, LabelImageComparisonFilter);
  dice->SetSourceImage(source);
  dice->SetTargetImage(target);
  dice->Update();
  ITK_TEST_EXPECT_EQUAL(dice->GetLabels().size(), 3u);
  ITK_TEST_EXPECT_TRUE(std::abs(dice->GetDiceCoefficient(1) - 0.8) < 1e-12);
  ITK_TEST_EXPECT_TRUE(std::abs(dice->GetDiceCoefficient(2) - 1.0) < 1e-12);
  ITK_TEST_EXPECT_TRUE(std::abs(dice->GetDiceCoefficient(3) - 0.0) < 1e-12);
  ITK_TEST_EXPECT_TRUE(std::abs(dice->GetMeanDiceCoefficient() - 0.6) < 1e-12);
  ITK_TRY_EXPECT_EXCEPTION(dice->GetDiceCoefficient(9));
  // The output is the source image, passed through.
  ITK_TEST_EXPECT_EQUAL(dice->GetOutput()->GetPixel({ { 6, 6, 6 } }), 1);

  // ASSD of concentric spheres of radii r and r + d on an anisotropic grid: d within half a
  // voxel (of the largest spacing).
  const double anisotropic[3] = { 0.8, 1.0, 1.6 };
  const LabelImageType::SizeType sphereSize{ { 60, 48, 30 } };
  const double r = 12.0, d = 3.0;
  itk::Point<double, 3> centre;
  centre[0] = 24.0;
  centre[1] = 24.0;
  centre[2] = 24.0;
  auto sphere = [&](double radius) {
    return makeLabels(sphereSize, anisotropic, [&, radius](const itk::Point<double, 3> & p, const itk::Index<3> &) {
      return static_cast<unsigned char>(p.EuclideanDistanceTo(centre) <= radius ? 5 : 0);
    });
  };
  auto assd = itk::AverageSymmetricSurfaceDistanceImageFilter<LabelImageType>::New();
  ITK_EXERCISE_BASIC_OBJECT_METHODS(assd, AverageSymmetricSurfaceDistanceImageFilter, LabelImageComparisonFilter);
  assd->SetSourceImage(sphere(r));
  assd->SetTargetImage(sphere(r + d));
  assd->Update();
  const double measured = assd->GetAverageSymmetricSurfaceDistance(5);
  std::cout << "ASSD of spheres r = " << r << " and r + " << d << ": " << measured << " mm" << std::endl;
  ITK_TEST_EXPECT_TRUE(std::abs(measured - d) <= 0.5 * 1.6);
  ITK_TEST_EXPECT_TRUE(std::abs(assd->GetMeanAverageSymmetricSurfaceDistance() - measured) < 1e-12);
  // Identical labels: 0.
  const auto sameSphere = sphere(r);
  assd->SetSourceImage(sameSphere);
  assd->SetTargetImage(sameSphere);
  assd->Update();
  std::cout << "ASSD of a sphere with itself: " << assd->GetAverageSymmetricSurfaceDistance(5) << std::endl;
  ITK_TEST_EXPECT_TRUE(assd->GetAverageSymmetricSurfaceDistance(5) < 1e-5); // float distance map
  // A label in one image only has no ASSD and is listed.
  assd->SetSourceImage(source);
  assd->SetTargetImage(target);
  assd->Update();
  ITK_TEST_EXPECT_EQUAL(assd->GetLabels().size(), 2u);
  ITK_TEST_EXPECT_EQUAL(assd->GetLabelsInOneImageOnly().size(), 1u);
  ITK_TRY_EXPECT_EXCEPTION(assd->GetAverageSymmetricSurfaceDistance(3));
  // The shifted cube: faces 2 voxels apart along i contribute 2, the others less: 0 < ASSD < 2.
  ITK_TEST_EXPECT_TRUE(assd->GetAverageSymmetricSurfaceDistance(1) > 0.0);
  ITK_TEST_EXPECT_TRUE(assd->GetAverageSymmetricSurfaceDistance(1) < 2.0);

  // Label images on different grids are refused by name.
  auto otherGrid = makeLabels(LabelImageType::SizeType{ { 30, 30, 31 } },
                              unit,
                              [](const itk::Point<double, 3> &, const itk::Index<3> &) -> unsigned char { return 1; });
  dice->SetTargetImage(otherGrid);
  try
  {
    dice->Update();
    std::cerr << "different grids were accepted" << std::endl;
    return EXIT_FAILURE;
  }
  catch (const itk::ExceptionObject & error)
  {
    ITK_TEST_EXPECT_TRUE(std::string(error.GetDescription()).find("different grids") != std::string::npos);
    ITK_TEST_EXPECT_TRUE(std::string(error.GetDescription()).find("size [30, 30, 30] vs [30, 30, 31]") !=
                         std::string::npos);
  }
  // The same size 1 m away (a label map that does not lie on its image): Dice and ASSD both
  // refuse it and say that the origin differs, with both origins (before: Dice 0, no error).
  auto farAway = makeLabels(size, unit, [](const itk::Point<double, 3> &, const itk::Index<3> & i) -> unsigned char {
    return inCube(i, 5, 15) ? 1 : 0;
  });
  farAway->SetOrigin(itk::Point<double, 3>(std::array<double, 3>{ { 1000.0, 0.0, 0.0 } }.data()));
  for (itk::LabelImageComparisonFilter<LabelImageType>::Pointer measure :
       { itk::LabelImageComparisonFilter<LabelImageType>::Pointer(dice),
         itk::LabelImageComparisonFilter<LabelImageType>::Pointer(assd) })
  {
    measure->SetSourceImage(source);
    measure->SetTargetImage(farAway);
    try
    {
      measure->Update();
      std::cerr << measure->GetNameOfClass() << " accepted label images 1 m apart" << std::endl;
      return EXIT_FAILURE;
    }
    catch (const itk::ExceptionObject & error)
    {
      const std::string message = error.GetDescription();
      ITK_TEST_EXPECT_TRUE(message.find("origin [0, 0, 0] vs [1000, 0, 0]") != std::string::npos);
      ITK_TEST_EXPECT_TRUE(message.find("size") == std::string::npos); // only what differs
    }
  }

  // A float label map with non-integer values is refused.
  using FloatLabels = itk::Image<float, 3>;
  auto floatLabels = FloatLabels::New();
  floatLabels->SetRegions(FloatLabels::SizeType{ { 4, 4, 4 } });
  floatLabels->Allocate(true);
  floatLabels->SetPixel({ { 1, 1, 1 } }, 2.5f);
  auto floatDice = itk::LabelDiceCoefficientImageFilter<FloatLabels>::New();
  floatDice->SetSourceImage(floatLabels);
  floatDice->SetTargetImage(floatLabels);
  ITK_TRY_EXPECT_EXCEPTION(floatDice->Update());

  std::cout << "Test finished." << std::endl;
  return EXIT_SUCCESS;
}
