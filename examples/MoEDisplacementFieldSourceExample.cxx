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
// Runs MoEDisplacementFieldSource on a pair prepared by hand (network grid, intensities in
// [0, 1]) and writes the per-direction expert maps, the paper's Fig. 2.
//
//   MoEDisplacementFieldSourceExample fixed moving gridSize outputPrefix [model.pt]
#include "itkMoEDisplacementFieldSource.h"
#include "itkSHMoARegImageIO.h"

#include "itkImageFileReader.h"
#include "itkImageFileWriter.h"
#include "itkImageRegionConstIterator.h"

#include <charconv>
#include <string_view>

int
main(int argc, char * argv[])
{
  if (argc < 5)
  {
    std::cerr << "usage: " << argv[0] << " fixed moving gridSize outputPrefix [model.pt]\n";
    return EXIT_FAILURE;
  }
  // gridSize: a whole number of voxels and nothing else (std::stoul would take "32x" as 32).
  itk::SizeValueType gridSize = 0;
  if (argc > 3)
  {
    const std::string_view text = argv[3];
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), gridSize);
    if (error != std::errc() || end != text.data() + text.size())
    {
      std::cerr << "error: gridSize '" << text << "' is not a number of voxels" << std::endl;
      return EXIT_FAILURE;
    }
  }
  itk::SHMoARegRegisterImageIO();
  using Grid = itk::SHMoARegNetworkGrid;
  try
  {
    const auto fixed = itk::ReadImage<Grid::ImageType>(argv[1]);
    const auto moving = itk::ReadImage<Grid::ImageType>(argv[2]);
    Grid::SizeType size;
    size.Fill(gridSize);
    const auto grid = Grid::MakeGrid(fixed, size);
    auto model = itk::SHMoARegModel::New();
    if (argc > 5)
      model->LoadFromFile(argv[5]);
    else
      model->CreateFromPreset("SHMoAReg");
    auto source = itk::MoEDisplacementFieldSource::New();
    source->SetModel(model);
    source->SetFixedImage(Grid::PrepareNetworkInput(fixed.GetPointer(), grid));
    source->SetMovingImage(Grid::PrepareNetworkInput(moving.GetPointer(), grid));
    source->Update();

    const std::string prefix = argv[4];
    const char * axes[3] = { "i", "j", "k" };
    for (unsigned int d = 0; d < 3; ++d)
    {
      const auto * map = source->GetExpertMap(d);
      itk::WriteImage(map, prefix + "_experts_" + axes[d] + ".nii.gz");
      std::array<double, 3> share{ 0, 0, 0 };
      itk::ImageRegionConstIterator<itk::MoEDisplacementFieldSource::ExpertMapType> it(map, map->GetBufferedRegion());
      for (; !it.IsAtEnd(); ++it)
        share[std::min<unsigned>(it.Get(), 2)] += 1.0;
      const double n = static_cast<double>(map->GetBufferedRegion().GetNumberOfPixels());
      std::cout << "direction " << axes[d] << ": expert 0: " << 100.0 * share[0] / n
                << "%, expert 1: " << 100.0 * share[1] / n << "%, expert 2: " << 100.0 * share[2] / n << "%"
                << std::endl;
    }
    itk::WriteImage(source->GetDisplacementField(), prefix + "_field.nii.gz");
  }
  catch (const itk::ExceptionObject & error)
  {
    std::cerr << "error: " << error.GetDescription() << std::endl;
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
