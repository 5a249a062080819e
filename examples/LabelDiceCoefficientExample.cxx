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
// Dice coefficient per label of two label maps on the same grid, and the mean.
//
//   LabelDiceCoefficientExample source-labels target-labels
#include "itkLabelDiceCoefficientImageFilter.h"
#include "itkSHMoARegImageIO.h"

#include "itkImageFileReader.h"

int
main(int argc, char * argv[])
{
  if (argc < 3)
  {
    std::cerr << "usage: " << argv[0] << " source-labels target-labels\n";
    return EXIT_FAILURE;
  }
  itk::SHMoARegRegisterImageIO();
  using LabelImageType = itk::Image<unsigned short, 3>;
  try
  {
    auto dice = itk::LabelDiceCoefficientImageFilter<LabelImageType>::New();
    dice->SetSourceImage(itk::ReadImage<LabelImageType>(argv[1]));
    dice->SetTargetImage(itk::ReadImage<LabelImageType>(argv[2]));
    dice->Update();
    for (auto label : dice->GetLabels())
      std::cout << "label " << label << ": " << dice->GetDiceCoefficient(label) << "\n";
    std::cout << "labels: " << dice->GetLabels().size() << ", mean Dice: " << dice->GetMeanDiceCoefficient() << " "
              << std::endl;
  }
  catch (const itk::ExceptionObject & error)
  {
    std::cerr << "error: " << error.GetDescription() << std::endl;
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
