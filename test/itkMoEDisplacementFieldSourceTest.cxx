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
#include "itkMoEDisplacementFieldSource.h"

#include "itkCommand.h"

#include "itkImageRegionConstIterator.h"
#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkTestingMacros.h"
#include "itkWarpImageFilter.h"

#include <cmath>

namespace {
using ImageType = itk::SHMoARegNetworkGrid::ImageType;
using FieldType = itk::SHMoARegNetworkGrid::DisplacementFieldType;

ImageType::Pointer
makeBlob(double centre, const itk::ImageBase<3> * geometry)
{
  auto image = ImageType::New();
  image->CopyInformation(geometry);
  image->SetRegions(geometry->GetLargestPossibleRegion());
  image->Allocate();
  itk::ImageRegionIteratorWithIndex<ImageType> it(image, image->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    const auto i = it.GetIndex();
    const double r2 = (i[0] - centre) * (i[0] - centre) + (i[1] - 16.0) * (i[1] - 16.0) + (i[2] - 16.0) * (i[2] - 16.0);
    it.Set(static_cast<float>(std::exp(-r2 / 60.0)));
  }
  return image;
}
} // namespace

int
itkMoEDisplacementFieldSourceTest(int, char *[])
{
  // A network grid with anisotropic spacing and a non-identity direction.
  auto geometry = ImageType::New();
  geometry->SetRegions(ImageType::SizeType{ { 32, 32, 32 } });
  const double spacing[3] = { 1.5, 2.0, 1.0 };
  geometry->SetSpacing(spacing);
  ImageType::DirectionType direction;
  direction.Fill(0.0);
  direction(0, 1) = 1.0; // i along y, j along -x, k along z
  direction(1, 0) = -1.0;
  direction(2, 2) = 1.0;
  geometry->SetDirection(direction);

  auto model = itk::SHMoARegModel::New();
  model->SetDevice("cpu");
  model->CreateFromPreset("SHMoAReg", 3);

  auto source = itk::MoEDisplacementFieldSource::New();
  ITK_EXERCISE_BASIC_OBJECT_METHODS(source, MoEDisplacementFieldSource, ImageToImageFilter);
  source->SetFixedImage(makeBlob(14.0, geometry));
  source->SetMovingImage(makeBlob(18.0, geometry));
  ITK_TRY_EXPECT_EXCEPTION(source->Update()); // no model yet
  source->SetModel(model);
  source->ComputeGateProbabilitiesOn();
  ITK_TRY_EXPECT_NO_EXCEPTION(source->Update());

  // Field in mm = D diag(spacing) (network voxels).
  const auto prediction = model->Predict(source->GetFixedImage(), source->GetMovingImage(), true);
  const FieldType * field = source->GetDisplacementField();
  ITK_TEST_EXPECT_TRUE(field->GetDirection() == direction);
  const itk::Index<3> probe{ { 5, 20, 11 } };
  const auto voxel = prediction.VoxelDisplacement->GetPixel(probe);
  const auto mm = field->GetPixel(probe);
  for (unsigned int r = 0; r < 3; ++r)
  {
    double expected = 0.0;
    for (unsigned int a = 0; a < 3; ++a)
      expected += direction(r, a) * spacing[a] * voxel[a];
    ITK_TEST_EXPECT_TRUE(std::abs(mm[r] - expected) < 1e-6);
  }
  // And back.
  const auto back = itk::SHMoARegNetworkGrid::PhysicalToVoxel(field);
  ITK_TEST_EXPECT_TRUE((back->GetPixel(probe) - voxel).GetNorm() < 1e-6);

  // Expert maps: one per direction, values in {0, 1, 2}, the network's choices.
  bool inRange = true, sameAsNetwork = true;
  std::set<int> seen;
  for (unsigned int d = 0; d < 3; ++d)
  {
    const auto * map = source->GetExpertMap(d);
    ITK_TEST_EXPECT_EQUAL(map->GetLargestPossibleRegion(), geometry->GetLargestPossibleRegion());
    itk::ImageRegionConstIterator<itk::SHMoARegModel::ExpertMapType> it(map, map->GetLargestPossibleRegion());
    itk::ImageRegionConstIterator<itk::SHMoARegModel::ExpertMapType> ref(prediction.ExpertMaps[d],
                                                                         map->GetLargestPossibleRegion());
    for (; !it.IsAtEnd(); ++it, ++ref)
    {
      inRange = inRange && it.Get() < 3;
      sameAsNetwork = sameAsNetwork && it.Get() == ref.Get();
      seen.insert(it.Get());
    }
  }
  ITK_TEST_EXPECT_TRUE(inRange);
  ITK_TEST_EXPECT_TRUE(sameAsNetwork);
  ITK_TEST_EXPECT_TRUE(seen.size() > 1); // heterogeneous choices
  ITK_TRY_EXPECT_EXCEPTION(source->GetExpertMap(3));

  // Gate probabilities: 3 x 3 components, each direction's sum is 1, the argmax is the map.
  const auto * gates = source->GetGateProbabilities();
  ITK_TEST_EXPECT_EQUAL(gates->GetNumberOfComponentsPerPixel(), 9u);
  const auto p = gates->GetPixel(probe);
  for (unsigned int d = 0; d < 3; ++d)
  {
    ITK_TEST_EXPECT_TRUE(std::abs(p[3 * d] + p[3 * d + 1] + p[3 * d + 2] - 1.0) < 1e-5);
    unsigned int best = 0;
    for (unsigned int e = 1; e < 3; ++e)
      if (p[3 * d + e] > p[3 * d + best])
        best = e;
    ITK_TEST_EXPECT_EQUAL(best, static_cast<unsigned int>(source->GetExpertMap(d)->GetPixel(probe)));
  }

  // Instance optimisation: from the (untrained, near-zero) prediction towards the 4-voxel shift
  // between the blobs, on a copy of the field: the model's own prediction stays as it was.
  auto warpedError = [&](const FieldType * physical) {
    auto warp = itk::WarpImageFilter<ImageType, ImageType, FieldType>::New();
    warp->SetInput(source->GetMovingImage());
    warp->SetDisplacementField(physical);
    warp->SetOutputParametersFromImage(geometry);
    warp->Update();
    double sum = 0.0;
    itk::ImageRegionConstIterator<ImageType> w(warp->GetOutput(), geometry->GetLargestPossibleRegion());
    itk::ImageRegionConstIterator<ImageType> f(source->GetFixedImage(), geometry->GetLargestPossibleRegion());
    for (; !w.IsAtEnd(); ++w, ++f)
      sum += (w.Get() - f.Get()) * (w.Get() - f.Get());
    return sum;
  };
  {
    source->ComputeGateProbabilitiesOff();
    ITK_TRY_EXPECT_NO_EXCEPTION(source->Update());
    const double before = warpedError(source->GetDisplacementField());
    const auto predicted = model->Predict(source->GetFixedImage(), source->GetMovingImage());
    source->SetNumberOfInstanceOptimizationIterations(40);
    ITK_TEST_SET_GET_VALUE(40u, source->GetNumberOfInstanceOptimizationIterations());
    ITK_TRY_EXPECT_NO_EXCEPTION(source->Update());
    const double after = warpedError(source->GetDisplacementField());
    std::cout << "instance optimisation: squared error " << before << " -> " << after << " in "
              << source->GetInstanceOptimizationSeconds() << " s" << std::endl;
    ITK_TEST_EXPECT_TRUE(after < 0.5 * before);
    ITK_TEST_EXPECT_TRUE(source->GetInstanceOptimizationSeconds() > 0.0);
    const auto again = model->Predict(source->GetFixedImage(), source->GetMovingImage());
    itk::ImageRegionConstIterator<FieldType> a(predicted.VoxelDisplacement, geometry->GetLargestPossibleRegion());
    itk::ImageRegionConstIterator<FieldType> b(again.VoxelDisplacement, geometry->GetLargestPossibleRegion());
    bool unchanged = true;
    for (; !a.IsAtEnd(); ++a, ++b)
      unchanged = unchanged && a.Get() == b.Get();
    ITK_TEST_EXPECT_TRUE(unchanged);
    // The settings struct: the iterations setter changes only the iterations.
    auto negativeStep = source->GetInstanceOptimizationSettings();
    ITK_TEST_EXPECT_EQUAL(negativeStep.Iterations, 40u);
    ITK_TEST_EXPECT_EQUAL(negativeStep.LearningRate, itk::SHMoARegModel::InstanceOptimizationSettings().LearningRate);
    negativeStep.LearningRate = -1.0;
    negativeStep.Iterations = 5;
    source->SetInstanceOptimizationSettings(negativeStep);
    ITK_TRY_EXPECT_EXCEPTION(source->Update()); // a negative step is refused
    source->SetNumberOfInstanceOptimizationIterations(0);
    ITK_TEST_EXPECT_EQUAL(source->GetInstanceOptimizationSettings().LearningRate, -1.0);
    source->SetInstanceOptimizationSettings(itk::SHMoARegModel::InstanceOptimizationSettings());
  }

  // Multi-level refinement on the network grid: the source's field is SHMoARegModel::Refine of
  // the network's prediction (same settings), it lowers the blob pair's error, each level is
  // reported, and the exact inverse is not offered for a refined field.
  {
    source->ComputeInverseDisplacementFieldOn();
    ITK_TRY_EXPECT_NO_EXCEPTION(source->Update());
    const double before = warpedError(source->GetDisplacementField());
    ITK_TEST_EXPECT_EQUAL(source->GetRefinementReport().size(), 0u);
    source->SetRefinement("fast");
    ITK_TEST_EXPECT_EQUAL(source->GetRefinementSettings().Levels.size(), 2u);
    // The blobs are small on a small grid: levels at 2 and 1 times its voxels, a weak diffusion,
    auto settings = itk::SHMoARegModel::GetRefinementPreset("fast");
    settings.Levels = { { 2.0, 60 }, { 1.0, 40 } };
    settings.SmoothnessWeight = 0.05;
    settings.Similarity = "mse"; // local NCC is ill-posed on the flat background around the blobs
    source->SetRefinementSettings(settings);
    // One IterationEvent per level as it ends, the report one level longer at each.
    std::vector<size_t> reportedAtEvents;
    auto onLevel = itk::CStyleCommand::New();
    onLevel->SetClientData(&reportedAtEvents);
    onLevel->SetCallback([](itk::Object * caller, const itk::EventObject &, void * seen) {
      static_cast<std::vector<size_t> *>(seen)->push_back(
        static_cast<const itk::MoEDisplacementFieldSource *>(caller)->GetRefinementReport().size());
    });
    const unsigned long levelObserver = source->AddObserver(itk::IterationEvent(), onLevel);
    ITK_TRY_EXPECT_NO_EXCEPTION(source->Update());
    source->RemoveObserver(levelObserver);
    ITK_TEST_EXPECT_TRUE(reportedAtEvents == std::vector<size_t>({ 1, 2 }));
    const double after = warpedError(source->GetDisplacementField());
    std::cout << "refinement: squared error " << before << " -> " << after << " in " << source->GetRefinementSeconds()
              << " s" << std::endl;
    ITK_TEST_EXPECT_TRUE(after < 0.5 * before);
    ITK_TEST_EXPECT_EQUAL(source->GetRefinementReport().size(), 2u);
    ITK_TEST_EXPECT_TRUE(source->GetRefinementSeconds() > 0.0);
    ITK_TEST_EXPECT_TRUE(source->GetInverseDisplacementField() == nullptr);
    const auto predicted = model->Predict(source->GetFixedImage(), source->GetMovingImage());
    const auto refined =
      model->Refine(source->GetFixedImage(), source->GetMovingImage(), predicted.VoxelDisplacement, settings);
    const auto fromSource = itk::SHMoARegNetworkGrid::PhysicalToVoxel(source->GetDisplacementField());
    double difference = 0.0;
    itk::ImageRegionConstIteratorWithIndex<FieldType> it(fromSource, geometry->GetLargestPossibleRegion());
    for (; !it.IsAtEnd(); ++it)
      difference = std::max(difference, static_cast<double>((it.Get() - refined->GetPixel(it.GetIndex())).GetNorm()));
    ITK_TEST_EXPECT_TRUE(difference < 1e-4);
    source->SetRefinement("none");
    source->ComputeInverseDisplacementFieldOff();
  }

  // Network passes: the source hands its setting to Predict (the composition itself is tested
  // in the network core); 0 passes is refused.
  {
    ITK_TEST_SET_GET_VALUE(1u, source->GetNumberOfNetworkPasses());
    const auto twice = model->Predict(
      source->GetFixedImage(), source->GetMovingImage(), false, {}, nullptr, nullptr, false, std::string(), 2);
    source->SetNumberOfNetworkPasses(2);
    ITK_TEST_SET_GET_VALUE(2u, source->GetNumberOfNetworkPasses());
    ITK_TRY_EXPECT_NO_EXCEPTION(source->Update());
    const auto fromSource = itk::SHMoARegNetworkGrid::PhysicalToVoxel(source->GetDisplacementField());
    const auto once = model->Predict(source->GetFixedImage(), source->GetMovingImage());
    // The untrained network's fields are tiny: compare with the second pass's own contribution.
    double sourceError = 0.0, secondPass = 0.0;
    itk::ImageRegionConstIteratorWithIndex<FieldType> it(fromSource, geometry->GetLargestPossibleRegion());
    for (; !it.IsAtEnd(); ++it)
    {
      const auto two = twice.VoxelDisplacement->GetPixel(it.GetIndex());
      sourceError = std::max(sourceError, static_cast<double>((it.Get() - two).GetNorm()));
      secondPass =
        std::max(secondPass, static_cast<double>((two - once.VoxelDisplacement->GetPixel(it.GetIndex())).GetNorm()));
    }
    std::cout << "two passes: source vs Predict " << sourceError << ", second pass " << secondPass << " voxels"
              << std::endl;
    ITK_TEST_EXPECT_TRUE(secondPass > 0.0);
    ITK_TEST_EXPECT_TRUE(sourceError < 0.01 * secondPass);
    source->SetNumberOfNetworkPasses(0);
    ITK_TRY_EXPECT_EXCEPTION(source->Update());
    source->SetNumberOfNetworkPasses(1);
  }

  // Mismatched grids and NaN are refused by name.
  auto smaller = ImageType::New();
  smaller->SetRegions(ImageType::SizeType{ { 16, 32, 32 } });
  smaller->Allocate(true);
  source->SetMovingImage(smaller);
  ITK_TRY_EXPECT_EXCEPTION(source->Update());
  auto withNaN = makeBlob(18.0, geometry);
  withNaN->SetPixel(probe, std::nanf(""));
  source->SetMovingImage(withNaN);
  ITK_TRY_EXPECT_EXCEPTION(source->Update());

  std::cout << "Test finished." << std::endl;
  return EXIT_SUCCESS;
}
