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
// Jacobian determinant and folding of a displacement field (ITK's physical convention).
//
//   JacobianDeterminantFoldingExample field.nii.gz [determinant.nii.gz]
#include "itkJacobianDeterminantFoldingImageFilter.h"
#include "itkSHMoARegImageIO.h"

#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"

int
main(int argc, char * argv[])
{
  if (argc < 2)
  {
    std::cerr << "usage: " << argv[0] << " field.nii.gz [determinant.nii.gz]\n";
    return EXIT_FAILURE;
  }
  itk::SHMoARegRegisterImageIO();
  using FieldType = itk::Image<itk::Vector<float, 3>, 3>;
  try
  {
    auto filter = itk::JacobianDeterminantFoldingImageFilter<FieldType>::New();
    filter->SetInput(itk::ReadImage<FieldType>(argv[1]));
    filter->Update();
    std::cout << "folded voxels: " << filter->GetNumberOfFoldedVoxels() << " of " << filter->GetNumberOfVoxels() << " ("
              << filter->GetFoldingPercentage() << "%)" << std::endl;
    if (argc > 2)
      itk::WriteImage(filter->GetOutput(), argv[2]);
  }
  catch (const itk::ExceptionObject & error)
  {
    std::cerr << "error: " << error.GetDescription() << std::endl;
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
