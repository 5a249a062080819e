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
#include "itkLabelDiceCoefficientImageFilter.h"

#include "SHMoARegTestLabels.h"
#include "itkTestingMacros.h"

#include <cmath>

using shmoareg_test::LabelImageType;

int
itkLabelDiceCoefficientImageFilterTest(int, char *[])
{
  // Dice of the shifted cubes: overlap 8 x 10 x 10 -> Dice = 2 * 800 / 2000 = 0.8. Label 2 is
  // identical: 1. Label 3 exists in the source only: 0.
  const auto source = shmoareg_test::shiftedCubesSource();
  auto dice = itk::LabelDiceCoefficientImageFilter<LabelImageType>::New();
  ITK_EXERCISE_BASIC_OBJECT_METHODS(dice, LabelDiceCoefficientImageFilter, LabelImageComparisonFilter);
  dice->SetSourceImage(source);
  dice->SetTargetImage(shmoareg_test::shiftedCubesTarget());
  dice->Update();
  ITK_TEST_EXPECT_EQUAL(dice->GetLabels().size(), 3u);
  ITK_TEST_EXPECT_TRUE(std::abs(dice->GetDiceCoefficient(1) - 0.8) < 1e-12);
  ITK_TEST_EXPECT_TRUE(std::abs(dice->GetDiceCoefficient(2) - 1.0) < 1e-12);
  ITK_TEST_EXPECT_TRUE(std::abs(dice->GetDiceCoefficient(3) - 0.0) < 1e-12);
  ITK_TEST_EXPECT_TRUE(std::abs(dice->GetMeanDiceCoefficient() - 0.6) < 1e-12);
  ITK_TRY_EXPECT_EXCEPTION(dice->GetDiceCoefficient(9));
  // The output is the source image, passed through.
  ITK_TEST_EXPECT_EQUAL(dice->GetOutput()->GetPixel({ { 6, 6, 6 } }), 1);

  // Label images on different grids are refused by name.
  const double unit[3] = { 1.0, 1.0, 1.0 };
  auto otherGrid =
    shmoareg_test::makeLabels(LabelImageType::SizeType{ { 30, 30, 31 } },
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
  // The same size 1 m away (a label map that does not lie on its image): refused, naming the
  // origins (before: Dice 0, no error).
  ITK_TEST_EXPECT_TRUE(shmoareg_test::refusesLabelsOneMetreAway(dice.GetPointer(), source));

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
