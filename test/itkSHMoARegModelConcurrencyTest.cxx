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

// One SHMoARegModel shared by four threads, each updating its own registration filter (network
// and refinement) many times: every result equals the serial one, and the model is not changed
// by any prediction (before: each Update set the shared model's device and LibTorch's thread
// count, modifying it while the other threads ran it).
#include "itkSHMoARegistrationFilter.h"
#include "itkSHMoARegImageIO.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkTestingMacros.h"

#include "SHMoARegTestModels.h"

#include <cmath>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace {
using ImageType = itk::Image<float, 3>;
using FilterType = itk::SHMoARegistrationFilter<ImageType, ImageType>;
using FieldType = FilterType::DisplacementFieldType;

// A blob at `centre` (mm) on a 24^3 grid of 2 mm voxels.
ImageType::Pointer
makeBlob(double cx, double cy, double cz)
{
  auto image = ImageType::New();
  image->SetRegions(ImageType::SizeType{ { 24, 24, 24 } });
  image->SetSpacing(2.0);
  image->Allocate();
  itk::ImageRegionIteratorWithIndex<ImageType> it(image, image->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    itk::Point<double, 3> p;
    image->TransformIndexToPhysicalPoint(it.GetIndex(), p);
    const double r2 = (p[0] - cx) * (p[0] - cx) + (p[1] - cy) * (p[1] - cy) + (p[2] - cz) * (p[2] - cz);
    it.Set(static_cast<float>(100.0 * std::exp(-r2 / 120.0)));
  }
  return image;
}

FieldType::Pointer
registerPair(itk::SHMoARegModel * model, const ImageType * fixed, const ImageType * moving)
{
  auto filter = FilterType::New();
  filter->SetModel(model);
  filter->SetDevice("cpu");
  filter->SetFixedImage(fixed);
  filter->SetMovingImage(moving);
  filter->SetNetworkGridSize(FilterType::GridSizeType{ { 16, 16, 16 } });
  filter->SetRefinement("fast");
  filter->Update();
  FieldType::Pointer field = filter->GetOutput();
  field->DisconnectPipeline();
  return field;
}

double
maxDifference(const FieldType * a, const FieldType * b)
{
  double difference = 0.0;
  const size_t n = a->GetBufferedRegion().GetNumberOfPixels();
  for (size_t v = 0; v < n; ++v)
    for (unsigned int c = 0; c < 3; ++c)
      difference = std::max(
        difference,
        std::abs(static_cast<double>(a->GetBufferPointer()[v][c]) - static_cast<double>(b->GetBufferPointer()[v][c])));
  return difference;
}
} // namespace

int
itkSHMoARegModelConcurrencyTest(int argc, char * argv[])
{
  itk::SHMoARegRegisterImageIO();
  const std::string folder = argc > 1 ? argv[1] : ".";
  const std::string modelFile = folder + "/concurrency-random.pt";
  shmoareg_test::writeRandomFieldModel(modelFile, 11);
  auto model = itk::SHMoARegModel::New();
  model->SetDevice("cpu");
  model->LoadFromFile(modelFile);
  const itk::ModifiedTimeType modelTime = model->GetMTime();

  constexpr unsigned int threads = 4;
  constexpr unsigned int repeats = 6;
  std::vector<ImageType::Pointer> fixed, moving;
  std::vector<FieldType::Pointer> serial;
  for (unsigned int t = 0; t < threads; ++t)
  {
    fixed.push_back(makeBlob(24.0, 24.0, 24.0));
    moving.push_back(makeBlob(24.0 + 2.0 * t, 22.0, 25.0 - t));
    serial.push_back(registerPair(model, fixed[t], moving[t]));
  }
  ITK_TEST_EXPECT_TRUE(maxDifference(serial[0], serial[1]) > 1e-3); // the pairs differ

  std::mutex mutex;
  std::vector<std::string> failures;
  double worst = 0.0;
  std::vector<std::thread> workers;
  for (unsigned int t = 0; t < threads; ++t)
  {
    workers.emplace_back([&, t] {
      try
      {
        for (unsigned int r = 0; r < repeats; ++r)
        {
          const FieldType::Pointer field = registerPair(model, fixed[t], moving[t]);
          const double difference = maxDifference(field, serial[t]);
          std::lock_guard<std::mutex> lock(mutex);
          worst = std::max(worst, difference);
        }
      }
      catch (const std::exception & error)
      {
        std::lock_guard<std::mutex> lock(mutex);
        failures.emplace_back(error.what());
      }
    });
  }
  for (auto & worker : workers)
    worker.join();
  for (const auto & failure : failures)
    std::cerr << "a thread failed: " << failure << std::endl;
  ITK_TEST_EXPECT_TRUE(failures.empty());
  std::cout << threads << " threads x " << repeats << " registrations on one model: largest difference from the "
            << "serial fields " << worst << " mm" << std::endl;
  // LibTorch's kernels may split a reduction differently when threads compete: equal to float
  // rounding, far below a voxel.
  ITK_TEST_EXPECT_TRUE(worst < 1e-3);
  ITK_TEST_EXPECT_EQUAL(model->GetMTime(), modelTime); // no prediction modified the model
  ITK_TEST_EXPECT_EQUAL(model->GetDevice(), std::string("cpu"));
  return failures.empty() && worst < 1e-3 && model->GetMTime() == modelTime ? EXIT_SUCCESS : EXIT_FAILURE;
}
