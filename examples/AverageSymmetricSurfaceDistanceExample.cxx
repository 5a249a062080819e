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
// Average symmetric surface distance (mm) per label of two label maps on the same grid.
//
//   AverageSymmetricSurfaceDistanceExample source-labels target-labels
#include "itkAverageSymmetricSurfaceDistanceImageFilter.h"
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
    auto assd = itk::AverageSymmetricSurfaceDistanceImageFilter<LabelImageType>::New();
    assd->SetSourceImage(itk::ReadImage<LabelImageType>(argv[1]));
    assd->SetTargetImage(itk::ReadImage<LabelImageType>(argv[2]));
    assd->Update();
    for (auto label : assd->GetLabels())
      std::cout << "label " << label << ": " << assd->GetAverageSymmetricSurfaceDistance(label) << " mm\n";
    std::cout << "labels: " << assd->GetLabels().size()
              << ", mean ASSD: " << assd->GetMeanAverageSymmetricSurfaceDistance() << " mm" << std::endl;
  }
  catch (const itk::ExceptionObject & error)
  {
    std::cerr << "error: " << error.GetDescription() << std::endl;
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
