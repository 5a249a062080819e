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

#include "SHMoARegTestLabels.h"
#include "itkTestingMacros.h"

#include <cmath>

using shmoareg_test::LabelImageType;

int
itkAverageSymmetricSurfaceDistanceImageFilterTest(int, char *[])
{
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
    return shmoareg_test::makeLabels(
      sphereSize, anisotropic, [&, radius](const itk::Point<double, 3> & p, const itk::Index<3> &) {
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
  const auto source = shmoareg_test::shiftedCubesSource();
  assd->SetSourceImage(source);
  assd->SetTargetImage(shmoareg_test::shiftedCubesTarget());
  assd->Update();
  ITK_TEST_EXPECT_EQUAL(assd->GetLabels().size(), 2u);
  ITK_TEST_EXPECT_EQUAL(assd->GetLabelsInOneImageOnly().size(), 1u);
  ITK_TRY_EXPECT_EXCEPTION(assd->GetAverageSymmetricSurfaceDistance(3));
  // The shifted cube: faces 2 voxels apart along i contribute 2, the others less: 0 < ASSD < 2.
  ITK_TEST_EXPECT_TRUE(assd->GetAverageSymmetricSurfaceDistance(1) > 0.0);
  ITK_TEST_EXPECT_TRUE(assd->GetAverageSymmetricSurfaceDistance(1) < 2.0);

  // The same size 1 m away: refused, naming the origins (as Dice does).
  ITK_TEST_EXPECT_TRUE(shmoareg_test::refusesLabelsOneMetreAway(assd.GetPointer(), source));

  std::cout << "Test finished." << std::endl;
  return EXIT_SUCCESS;
}
