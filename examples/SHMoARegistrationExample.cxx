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
// Registers a moving image to a fixed image with SHMoARegistrationFilter and writes the
// displacement field (ITK's physical convention) and the warped moving image; with moving
// labels, also the labels warped by the same field (nearest neighbour).
//
//   SHMoARegistrationExample fixed moving model.pt|PRESET field.nii.gz warped.nii.gz
//                            [gridSize [movingLabels warpedLabels]]
//
// gridSize 0 (the default) lets the filter choose the network grid from the model's training
// voxel size.
// A preset name (VM, TM, SHMoAReg, ...) builds an untrained network: it shows the pipeline,
// not a registration worth keeping.
#include "itkSHMoARegImageIO.h"
#include "itkSHMoARegistrationFilter.h"

#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"

#include <algorithm>
#include <charconv>
#include <string_view>

int
main(int argc, char * argv[])
{
  if (argc < 6)
  {
    std::cerr << "usage: " << argv[0]
              << " fixed moving model.pt|PRESET field.nii.gz warped.nii.gz [gridSize [movingLabels warpedLabels]]\n";
    return EXIT_FAILURE;
  }
  // gridSize: a whole number of voxels and nothing else (std::stoul would take "32x" as 32).
  itk::SizeValueType gridSize = 0;
  if (argc > 6)
  {
    const std::string_view text = argv[6];
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), gridSize);
    if (error != std::errc() || end != text.data() + text.size())
    {
      std::cerr << "error: gridSize '" << text << "' is not a number of voxels" << std::endl;
      return EXIT_FAILURE;
    }
  }
  itk::SHMoARegRegisterImageIO();
  using ImageType = itk::Image<float, 3>;
  using FilterType = itk::SHMoARegistrationFilter<ImageType, ImageType>;
  using LabelImageType = FilterType::LabelImageType;
  try
  {
    auto model = itk::SHMoARegModel::New();
    model->SetDevice("auto");
    const std::string modelName = argv[3];
    const auto presets = itk::SHMoARegModel::GetPresetNames();
    if (std::find(presets.begin(), presets.end(), modelName) != presets.end())
      model->CreateFromPreset(modelName);
    else
      model->LoadFromFile(modelName);

    auto filter = FilterType::New();
    filter->SetFixedImage(itk::ReadImage<ImageType>(argv[1]));
    filter->SetMovingImage(itk::ReadImage<ImageType>(argv[2]));
    filter->SetModel(model);
    if (argc > 6)
    {
      FilterType::GridSizeType grid;
      grid.Fill(gridSize);
      filter->SetNetworkGridSize(grid);
    }
    const bool withLabels = argc > 8;
    if (withLabels)
      filter->SetMovingLabelImage(itk::ReadImage<LabelImageType>(argv[7]));
    filter->Update();
    itk::WriteImage(filter->GetDisplacementField(), argv[4]);
    itk::WriteImage(filter->GetWarpedImage(), argv[5]);
    if (withLabels)
      itk::WriteImage(filter->GetWarpedLabelImage(), argv[8]);
    std::cout << model->GetPresetName() << " on a " << filter->GetUsedNetworkGridSize() << " grid in "
              << filter->GetMoEDisplacementFieldSource()->GetNetworkSeconds() << " s; wrote " << argv[4] << ", "
              << argv[5] << (withLabels ? std::string(", ") + argv[8] : std::string()) << std::endl;
  }
  catch (const itk::ExceptionObject & error)
  {
    std::cerr << "error: " << error.GetDescription() << std::endl;
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
