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
#include "itkSHMoARegModel.h"

#include "itkTestingMacros.h"

#include <cmath>
#include <fstream>

namespace {
using ImageType = itk::SHMoARegModel::NetworkImageType;

ImageType::Pointer
makeBlob(double centre)
{
  auto image = ImageType::New();
  ImageType::SizeType size{ { 32, 32, 32 } };
  image->SetRegions(size);
  image->Allocate();
  for (itk::IndexValueType k = 0; k < 32; ++k)
    for (itk::IndexValueType j = 0; j < 32; ++j)
      for (itk::IndexValueType i = 0; i < 32; ++i)
      {
        const double r2 = (i - centre) * (i - centre) + (j - 16.0) * (j - 16.0) + (k - 16.0) * (k - 16.0);
        image->SetPixel({ { i, j, k } }, static_cast<float>(std::exp(-r2 / 50.0)));
      }
  return image;
}

bool
messageContains(const itk::ExceptionObject & error, const std::string & text)
{
  return std::string(error.GetDescription()).find(text) != std::string::npos;
}
} // namespace

int
itkSHMoARegModelTest(int argc, char * argv[])
{
  if (argc < 2)
  {
    std::cerr << "usage: " << itkNameOfTestExecutableMacro(argv) << " temporaryDirectory" << std::endl;
    return EXIT_FAILURE;
  }
  const std::string folder = argv[1];

  auto model = itk::SHMoARegModel::New();
  ITK_EXERCISE_BASIC_OBJECT_METHODS(model, SHMoARegModel, Object);
  ITK_TEST_EXPECT_TRUE(!model->IsLoaded());

  // Predict before a network exists.
  const auto fixed = makeBlob(14.0);
  const auto moving = makeBlob(18.0);
  ITK_TRY_EXPECT_EXCEPTION(model->Predict(fixed, moving));

  model->SetDevice("cpu");
  model->CreateFromPreset("SHMoAReg");
  ITK_TEST_EXPECT_EQUAL(model->GetPresetName(), std::string("SHMoAReg"));
  ITK_TEST_EXPECT_TRUE(model->GetNumberOfParameters() > 1000000);
  ITK_TEST_EXPECT_TRUE(model->HasExpertMaps());
  ITK_TEST_EXPECT_EQUAL(model->GetNumberOfInputChannels(), 1u);

  const auto prediction = model->Predict(fixed, moving);
  ITK_TEST_EXPECT_EQUAL(prediction.VoxelDisplacement->GetLargestPossibleRegion(), fixed->GetLargestPossibleRegion());
  ITK_TEST_EXPECT_EQUAL(prediction.ExpertMaps.size(), 3u);
  for (const auto & map : prediction.ExpertMaps)
  {
    ITK_TEST_EXPECT_EQUAL(map->GetLargestPossibleRegion(), fixed->GetLargestPossibleRegion());
  }
  ITK_TEST_EXPECT_TRUE(prediction.Seconds > 0.0);

  // Save and load: same preset, same parameter count, same prediction.
  const std::string file = folder + "/itkSHMoARegModelTest.pt";
  model->SaveToFile(file);
  auto loaded = itk::SHMoARegModel::New();
  loaded->SetDevice("cpu");
  loaded->LoadFromFile(file);
  ITK_TEST_EXPECT_EQUAL(loaded->GetPresetName(), model->GetPresetName());
  ITK_TEST_EXPECT_EQUAL(loaded->GetNumberOfParameters(), model->GetNumberOfParameters());
  const auto again = loaded->Predict(fixed, moving);
  const itk::Index<3> probe{ { 10, 12, 14 } };
  ITK_TEST_EXPECT_EQUAL(again.VoxelDisplacement->GetPixel(probe), prediction.VoxelDisplacement->GetPixel(probe));

  // Fine-tuning (TrainStep): a step of learning rate 0 leaves the weights as they were; steps on
  // one pair lower its loss and change the prediction; the saved file keeps them.
  auto tuned = itk::SHMoARegModel::New();
  tuned->SetDevice("cpu");
  tuned->LoadFromFile(file);
  const double untrainedLoss = tuned->TrainStep(fixed, moving, 0.0);
  ITK_TEST_EXPECT_TRUE(std::isfinite(untrainedLoss) && untrainedLoss > 0.0);
  ITK_TEST_EXPECT_EQUAL(tuned->Predict(fixed, moving).VoxelDisplacement->GetPixel(probe),
                        prediction.VoxelDisplacement->GetPixel(probe));
  double lastLoss = untrainedLoss;
  for (int step = 0; step < 6; ++step)
  {
    lastLoss = tuned->TrainStep(fixed, moving, 1e-4);
    std::cout << "TrainStep " << step << ": loss " << lastLoss << std::endl;
  }
  std::cout << "TrainStep: loss " << untrainedLoss << " before, " << lastLoss << " after 5 steps" << std::endl;
  ITK_TEST_EXPECT_TRUE(lastLoss < untrainedLoss);
  const auto tunedPrediction = tuned->Predict(fixed, moving);
  ITK_TEST_EXPECT_TRUE(tunedPrediction.VoxelDisplacement->GetPixel(probe) !=
                       prediction.VoxelDisplacement->GetPixel(probe));
  tuned->SaveToFile(folder + "/itkSHMoARegModelTest-tuned.pt");
  auto tunedLoaded = itk::SHMoARegModel::New();
  tunedLoaded->SetDevice("cpu");
  tunedLoaded->LoadFromFile(folder + "/itkSHMoARegModelTest-tuned.pt");
  ITK_TEST_EXPECT_EQUAL(tunedLoaded->Predict(fixed, moving).VoxelDisplacement->GetPixel(probe),
                        tunedPrediction.VoxelDisplacement->GetPixel(probe));
  ITK_TRY_EXPECT_EXCEPTION(tuned->TrainStep(fixed, moving, -1.0));
  ITK_TRY_EXPECT_EXCEPTION(tuned->TrainStep(fixed, moving, 1e-4, "dice"));
  ITK_TRY_EXPECT_EXCEPTION(itk::SHMoARegModel::New()->TrainStep(fixed, moving));

  // Errors name the problem.
  try
  {
    loaded->LoadFromFile(folder + "/no-such-model.pt");
    std::cerr << "a missing model file loaded" << std::endl;
    return EXIT_FAILURE;
  }
  catch (const itk::ExceptionObject & error)
  {
    ITK_TEST_EXPECT_TRUE(messageContains(error, "no-such-model.pt"));
  }
  std::ofstream(folder + "/not-a-model.pt") << "not a model";
  ITK_TRY_EXPECT_EXCEPTION(loaded->LoadFromFile(folder + "/not-a-model.pt"));
  ITK_TRY_EXPECT_EXCEPTION(loaded->CreateFromPreset("NoSuchPreset"));
  ITK_TRY_EXPECT_EXCEPTION(loaded->SetDevice("quantum"));
  if (loaded->GetDevice() == "cpu")
  {
    // Without CUDA (this LibTorch or this machine), asking for it is an error, not a fallback.
    try
    {
      auto probeModel = itk::SHMoARegModel::New();
      probeModel->SetDevice("cuda");
      std::cout << "CUDA is available: the missing-CUDA error path is not exercised here" << std::endl;
    }
    catch (const itk::ExceptionObject & error)
    {
      ITK_TEST_EXPECT_TRUE(messageContains(error, "CUDA"));
    }
  }
  auto smaller = ImageType::New();
  smaller->SetRegions(ImageType::SizeType{ { 16, 32, 32 } });
  smaller->Allocate(true);
  ITK_TRY_EXPECT_EXCEPTION(loaded->Predict(fixed, smaller));
  ITK_TRY_EXPECT_EXCEPTION(loaded->TrainStep(fixed, smaller));
  ITK_TRY_EXPECT_EXCEPTION(loaded->SetNumberOfThreads(-2));

  std::cout << "Test finished." << std::endl;
  return EXIT_SUCCESS;
}
