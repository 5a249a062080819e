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
#include "itkSHMoARegistrationFilter.h"
#include "itkAffineTransform.h"

#include "SHMoARegTestModels.h"

#include "itkCommand.h"
#include "itkEuler3DTransform.h"
#include "itkImageRegionConstIterator.h"
#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkImageRegionIteratorWithIndex.h"
#include "itkResampleImageFilter.h"
#include "itkTestingMacros.h"
#include "itkWarpImageFilter.h"

#include <cmath>
#include <fstream>

namespace {
using FixedImageType = itk::Image<float, 3>;
using MovingImageType = itk::Image<float, 3>;
using FieldType = itk::Image<itk::Vector<float, 3>, 3>;
using LabelImageType = itk::Image<unsigned short, 3>;
using FilterType = itk::SHMoARegistrationFilter<FixedImageType, MovingImageType, FieldType, LabelImageType>;

// A rotated, anisotropic fixed grid: spacing (3, 3, 2), direction from Euler angles.
FixedImageType::Pointer
makeFixed()
{
  auto image = FixedImageType::New();
  image->SetRegions(FixedImageType::SizeType{ { 20, 22, 24 } });
  const double spacing[3] = { 3.0, 3.0, 2.0 };
  image->SetSpacing(spacing);
  auto rotation = itk::Euler3DTransform<double>::New();
  rotation->SetRotation(0.2, -0.1, 0.5);
  image->SetDirection(rotation->GetMatrix());
  FixedImageType::PointType origin;
  origin[0] = -25.0;
  origin[1] = -30.0;
  origin[2] = -20.0;
  image->SetOrigin(origin);
  image->Allocate();
  itk::ImageRegionIteratorWithIndex<FixedImageType> it(image, image->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    FixedImageType::PointType p;
    image->TransformIndexToPhysicalPoint(it.GetIndex(), p);
    it.Set(static_cast<float>(std::sin(p[0] / 15.0) + std::cos(p[1] / 12.0) + p[2] / 40.0));
  }
  return image;
}

// The moving image on its own (isotropic, identity-direction) grid covering the fixed one:
// an analytic function of the physical point, so warped values are known.
double
movingValue(const itk::Point<double, 3> & p)
{
  return 100.0 + 0.5 * p[0] - 0.25 * p[1] + 0.75 * p[2];
}

MovingImageType::Pointer
makeMoving()
{
  auto image = MovingImageType::New();
  image->SetRegions(MovingImageType::SizeType{ { 64, 64, 64 } });
  const double spacing[3] = { 2.5, 2.5, 2.5 };
  image->SetSpacing(spacing);
  MovingImageType::PointType origin;
  origin.Fill(-80.0);
  image->SetOrigin(origin);
  image->Allocate();
  itk::ImageRegionIteratorWithIndex<MovingImageType> it(image, image->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    MovingImageType::PointType p;
    image->TransformIndexToPhysicalPoint(it.GetIndex(), p);
    it.Set(static_cast<float>(movingValue(p)));
  }
  return image;
}

double
maxDifference(const MovingImageType * a, const MovingImageType * b)
{
  itk::ImageRegionConstIterator<MovingImageType> ia(a, a->GetLargestPossibleRegion());
  itk::ImageRegionConstIterator<MovingImageType> ib(b, b->GetLargestPossibleRegion());
  double worst = 0.0;
  for (; !ia.IsAtEnd(); ++ia, ++ib)
  {
    worst = std::max(worst, std::abs(static_cast<double>(ia.Get()) - static_cast<double>(ib.Get())));
  }
  return worst;
}

bool
throwsWith(const std::function<void()> & call, const std::string & text)
{
  try
  {
    call();
  }
  catch (const itk::ExceptionObject & error)
  {
    const bool found = std::string(error.GetDescription()).find(text) != std::string::npos;
    if (!found)
    {
      std::cerr << "message lacks '" << text << "': " << error.GetDescription() << std::endl;
    }
    return found;
  }
  std::cerr << "no exception (expected one naming '" << text << "')" << std::endl;
  return false;
}

class ProgressRecorder : public itk::Command
{
public:
  using Self = ProgressRecorder;
  using Pointer = itk::SmartPointer<Self>;
  itkNewMacro(Self);
  void
  Execute(itk::Object * caller, const itk::EventObject & event) override
  {
    Execute(static_cast<const itk::Object *>(caller), event);
  }
  void
  Execute(const itk::Object * caller, const itk::EventObject & event) override
  {
    if (itk::ProgressEvent().CheckEvent(&event))
    {
      values.push_back(static_cast<const itk::ProcessObject *>(caller)->GetProgress());
    }
  }
  std::vector<float> values;
};

// What every scenario shares: the pair, the network grid, and two model files with known
// outputs (a constant translation, and random weights for the round trip).
struct Scenario
{
  std::string folder;
  FixedImageType::Pointer fixed;
  MovingImageType::Pointer moving;
  FilterType::GridSizeType grid;
  itk::Vector<double, 3> translation;
  std::array<double, 3> translationVoxels; // the translation in voxels of the network grid
  std::string translationModel;
  std::string randomModel;
};

// A filter on the scenario's pair and network grid with the given model file, on the CPU.
FilterType::Pointer
filterWithModel(const Scenario & scenario, const std::string & modelFile)
{
  auto filter = FilterType::New();
  filter->SetFixedImage(scenario.fixed);
  filter->SetMovingImage(scenario.moving);
  filter->SetModelFileName(modelFile);
  filter->SetDevice("cpu");
  filter->SetNetworkGridSize(scenario.grid);
  return filter;
}

int
testTranslation(const Scenario & scenario)
{
  const auto & [folder, fixed, moving, grid, translation, voxels, translationModel, randomModel] = scenario;
  auto filter = FilterType::New();
  ITK_EXERCISE_BASIC_OBJECT_METHODS(filter, SHMoARegistrationFilter, ImageToImageFilter);
  filter->SetFixedImage(fixed);
  filter->SetMovingImage(moving);
  filter->SetModelFileName(translationModel);
  filter->SetDevice("cpu");
  filter->SetNetworkGridSize(grid);
  auto progress = ProgressRecorder::New();
  filter->AddObserver(itk::ProgressEvent(), progress);
  ITK_TRY_EXPECT_NO_EXCEPTION(filter->Update());

  // The field equals the analytic translation everywhere, in mm, on the fixed grid.
  const FieldType * field = filter->GetDisplacementField();
  ITK_TEST_EXPECT_EQUAL(field->GetLargestPossibleRegion(), fixed->GetLargestPossibleRegion());
  ITK_TEST_EXPECT_TRUE(field->GetSpacing() == fixed->GetSpacing());
  ITK_TEST_EXPECT_TRUE(field->GetDirection() == fixed->GetDirection());
  double worstField = 0.0;
  itk::ImageRegionConstIterator<FieldType> f(field, field->GetLargestPossibleRegion());
  for (; !f.IsAtEnd(); ++f)
  {
    for (unsigned int a = 0; a < 3; ++a)
    {
      worstField = std::max(worstField, std::abs(f.Get()[a] - translation[a]));
    }
  }
  std::cout << "largest deviation of the field from (2, -1, 3) mm: " << worstField << std::endl;
  ITK_TEST_EXPECT_TRUE(worstField < 1e-4);

  // The inverse on the moving grid: -t wherever y and y - t lie well inside the fixed extent
  // (outside it the forward field is unknown and taken as zero); empty unless asked for.
  ITK_TEST_EXPECT_EQUAL(filter->GetInverseDisplacementField()->GetBufferedRegion().GetNumberOfPixels(), 0u);
  filter->ComputeInverseDisplacementFieldOn();
  filter->SetInverseTolerance(1e-4); // converged well past the default's 0.01 mm
  filter->SetInverseMaximumNumberOfIterations(200);
  ITK_TRY_EXPECT_NO_EXCEPTION(filter->Update());
  {
    const FieldType * inverse = filter->GetInverseDisplacementField();
    ITK_TEST_EXPECT_EQUAL(inverse->GetLargestPossibleRegion(), moving->GetLargestPossibleRegion());
    ITK_TEST_EXPECT_TRUE(inverse->GetSpacing() == moving->GetSpacing());
    ITK_TEST_EXPECT_TRUE(inverse->GetOrigin() == moving->GetOrigin());
    // An init-capture: C++17 lambdas may not capture a structured binding (clang refuses).
    auto wellInside = [fixedImage = fixed.GetPointer()](const itk::Point<double, 3> & p) {
      const auto index = fixedImage->TransformPhysicalPointToContinuousIndex<double>(p);
      const auto size = fixedImage->GetLargestPossibleRegion().GetSize();
      for (unsigned int a = 0; a < 3; ++a)
        if (index[a] < 3.0 || index[a] > static_cast<double>(size[a]) - 4.0)
          return false;
      return true;
    };
    double worstInverse = 0.0;
    size_t checked = 0;
    itk::ImageRegionConstIteratorWithIndex<FieldType> v(inverse, inverse->GetLargestPossibleRegion());
    for (; !v.IsAtEnd(); ++v)
    {
      itk::Point<double, 3> y;
      inverse->TransformIndexToPhysicalPoint(v.GetIndex(), y);
      if (!wellInside(y) || !wellInside(y - translation))
        continue;
      ++checked;
      for (unsigned int a = 0; a < 3; ++a)
        worstInverse = std::max(worstInverse, std::abs(v.Get()[a] + translation[a]));
    }
    std::cout << "inverse: largest deviation from -t " << worstInverse << " mm over " << checked
              << " voxels; residual mean " << filter->GetInverseMeanResidual() << ", max "
              << filter->GetInverseMaximumResidual() << std::endl;
    ITK_TEST_EXPECT_TRUE(checked > 1000);
    ITK_TEST_EXPECT_TRUE(worstInverse < 1e-3);
  }
  ITK_TEST_EXPECT_TRUE(!filter->GetInverseIsExact()); // not a diffeomorphic model
  filter->ComputeInverseDisplacementFieldOff();

  // WarpImageFilter applying the filter's field gives the filter's warped image.
  using WarpType = itk::WarpImageFilter<MovingImageType, MovingImageType, FieldType>;
  auto warp = WarpType::New();
  warp->SetInput(moving);
  warp->SetDisplacementField(field);
  warp->SetOutputParametersFromImage(fixed);
  warp->Update();
  const double warpDifference = maxDifference(warp->GetOutput(), filter->GetWarpedImage());
  std::cout << "filter warped vs WarpImageFilter: " << warpDifference << std::endl;
  ITK_TEST_EXPECT_TRUE(warpDifference < 1e-4);

  // And the warped image is the moving function at x + t (linear function: exact up to float).
  double worstWarped = 0.0;
  itk::ImageRegionConstIteratorWithIndex<MovingImageType> w(filter->GetWarpedImage(),
                                                            filter->GetWarpedImage()->GetLargestPossibleRegion());
  for (; !w.IsAtEnd(); ++w)
  {
    itk::Point<double, 3> p;
    fixed->TransformIndexToPhysicalPoint(w.GetIndex(), p);
    worstWarped = std::max(worstWarped, std::abs(w.Get() - movingValue(p + translation)));
  }
  std::cout << "warped vs analytic moving(x + t): " << worstWarped << std::endl;
  ITK_TEST_EXPECT_TRUE(worstWarped < 1e-3);

  // Progress ran from 0 to 1 through the steps (the network is 70% of it).
  ITK_TEST_EXPECT_TRUE(progress->values.size() >= 4);
  ITK_TEST_EXPECT_EQUAL(progress->values.front(), 0.0f);
  ITK_TEST_EXPECT_TRUE(std::count_if(progress->values.begin(), progress->values.end(), [](float v) {
                         return v >= 0.79f && v < 1.0f;
                       }) > 0);
  ITK_TEST_EXPECT_TRUE(std::abs(progress->values.back() - 1.0f) < 1e-6f);
  return EXIT_SUCCESS;
}

int
testDiffeomorphicInverse(const Scenario & scenario)
{
  const auto & [folder, fixed, moving, grid, translation, voxels, translationModel, randomModel] = scenario;
  // --- The diffeomorphic variant's exact inverse: a constant velocity t integrates to the
  // translation t and its negation to -t, so the inverse is -t everywhere on the moving grid (no
  // fixed-point iteration, no border effect); with an affine initial transform A (x -> A(x + t))
  // it is y -> A^-1(y) - t.
  {
    const std::string diffeomorphicModel = folder + "/translation-diffeomorphic.pt";
    shmoareg_test::writeConstantDisplacementModel(diffeomorphicModel, voxels, "{\"test\": \"velocity\"}", true);
    auto exact = filterWithModel(scenario, diffeomorphicModel);
    exact->ComputeInverseDisplacementFieldOn();
    auto affine = itk::AffineTransform<double, 3>::New();
    affine->Rotate3D(itk::Vector<double, 3>{ std::array<double, 3>{ 1.0, 0.0, 0.0 }.data() }, 0.1);
    affine->Scale(0.95);
    affine->Translate(itk::Vector<double, 3>{ std::array<double, 3>{ -2.0, 1.0, 0.5 }.data() });
    for (const bool withAffine : { false, true })
    {
      exact->SetInitialTransform(withAffine ? affine.GetPointer() : nullptr);
      ITK_TRY_EXPECT_NO_EXCEPTION(exact->Update());
      ITK_TEST_EXPECT_TRUE(exact->GetInverseIsExact());
      const auto affineInverse = affine->GetInverseTransform();
      double worst = 0.0;
      const FieldType * inverse = exact->GetInverseDisplacementField();
      itk::ImageRegionConstIteratorWithIndex<FieldType> v(inverse, inverse->GetLargestPossibleRegion());
      for (; !v.IsAtEnd(); ++v)
      {
        itk::Point<double, 3> y;
        inverse->TransformIndexToPhysicalPoint(v.GetIndex(), y);
        const itk::Point<double, 3> expected = (withAffine ? affineInverse->TransformPoint(y) : y) - translation;
        for (unsigned int a = 0; a < 3; ++a)
          worst = std::max(worst, std::abs(y[a] + v.Get()[a] - expected[a]));
      }
      std::cout << "exact inverse" << (withAffine ? " with an affine initial transform" : "") << ": largest deviation "
                << worst << " mm; residual mean " << exact->GetInverseMeanResidual() << ", max "
                << exact->GetInverseMaximumResidual() << std::endl;
      ITK_TEST_EXPECT_TRUE(worst < 1e-3);
      ITK_TEST_EXPECT_TRUE(exact->GetInverseMaximumResidual() < 1e-3);
    }
    // Asked for the fixed-point iteration instead, it takes it.
    exact->SetInitialTransform(nullptr);
    exact->UseExactInverseOff();
    ITK_TRY_EXPECT_NO_EXCEPTION(exact->Update());
    ITK_TEST_EXPECT_TRUE(!exact->GetInverseIsExact());
  }

  return EXIT_SUCCESS;
}

int
testZeroModel(const Scenario & scenario)
{
  const auto & [folder, fixed, moving, grid, translation, voxels, translationModel, randomModel] = scenario;
  // --- A zero model: field zero, warped image = moving resampled onto the fixed grid.
  const std::string zeroModel = folder + "/zero.pt";
  shmoareg_test::writeConstantDisplacementModel(zeroModel, { 0.0, 0.0, 0.0 });
  auto zero = FilterType::New();
  zero->SetFixedImage(fixed);
  zero->SetMovingImage(moving);
  auto zeroNetwork = itk::SHMoARegModel::New();
  zeroNetwork->SetDevice("cpu");
  zeroNetwork->LoadFromFile(zeroModel);
  zero->SetModel(zeroNetwork);
  zero->SetDevice("cpu");
  zero->SetNetworkGridSize(grid);
  zero->Update();
  double largestZero = 0.0;
  itk::ImageRegionConstIterator<FieldType> z(zero->GetDisplacementField(),
                                             zero->GetDisplacementField()->GetLargestPossibleRegion());
  for (; !z.IsAtEnd(); ++z)
  {
    largestZero = std::max(largestZero, static_cast<double>(z.Get().GetNorm()));
  }
  ITK_TEST_EXPECT_EQUAL(largestZero, 0.0);
  auto resample = itk::ResampleImageFilter<MovingImageType, MovingImageType>::New();
  resample->SetInput(moving);
  resample->SetOutputParametersFromImage(fixed);
  resample->Update();
  const double zeroDifference = maxDifference(resample->GetOutput(), zero->GetWarpedImage());
  std::cout << "zero model: warped vs moving resampled on the fixed grid: " << zeroDifference << std::endl;
  ITK_TEST_EXPECT_TRUE(zeroDifference < 1e-4);
  return EXIT_SUCCESS;
}

int
testInitialField(const Scenario & scenario)
{
  const auto & [folder, fixed, moving, grid, translation, voxels, translationModel, randomModel] = scenario;
  // --- An initial transform (a constant field t0 on its own grid) composes with the network's:
  // x -> t0(x + t), so the field is t + t0 and the warped image is moving(x + t + t0).
  {
    const itk::Vector<double, 3> t0{ std::array<double, 3>{ -4.0, 2.5, 1.0 }.data() };
    auto initialField = FieldType::New();
    initialField->CopyInformation(moving);
    initialField->SetRegions(moving->GetLargestPossibleRegion());
    initialField->Allocate();
    FieldType::PixelType t0Float;
    for (unsigned int a = 0; a < 3; ++a)
      t0Float[a] = static_cast<float>(t0[a]);
    initialField->FillBuffer(t0Float);
    auto composed = filterWithModel(scenario, translationModel);
    composed->SetInitialDisplacementField(initialField);
    ITK_TRY_EXPECT_NO_EXCEPTION(composed->Update());
    double worstComposed = 0.0;
    itk::ImageRegionConstIterator<FieldType> c(composed->GetDisplacementField(),
                                               composed->GetDisplacementField()->GetLargestPossibleRegion());
    for (; !c.IsAtEnd(); ++c)
      for (unsigned int a = 0; a < 3; ++a)
        worstComposed = std::max(worstComposed, std::abs(c.Get()[a] - translation[a] - t0[a]));
    double worstComposedWarp = 0.0;
    itk::ImageRegionConstIteratorWithIndex<MovingImageType> cw(composed->GetWarpedImage(),
                                                               composed->GetWarpedImage()->GetLargestPossibleRegion());
    for (; !cw.IsAtEnd(); ++cw)
    {
      itk::Point<double, 3> p;
      fixed->TransformIndexToPhysicalPoint(cw.GetIndex(), p);
      worstComposedWarp = std::max(worstComposedWarp, std::abs(cw.Get() - movingValue(p + translation + t0)));
    }
    std::cout << "initial transform: field vs t + t0 " << worstComposed << " mm, warped vs moving(x + t + t0) "
              << worstComposedWarp << std::endl;
    ITK_TEST_EXPECT_TRUE(worstComposed < 1e-4);
    ITK_TEST_EXPECT_TRUE(worstComposedWarp < 1e-3);
    // Without an initial transform the deformable part is the output itself.
    composed->SetInitialDisplacementField(nullptr);
    ITK_TRY_EXPECT_NO_EXCEPTION(composed->Update());
    ITK_TEST_EXPECT_TRUE(composed->GetDeformableDisplacementField() == composed->GetDisplacementField());
  }
  return EXIT_SUCCESS;
}

int
testInitialAffine(const Scenario & scenario)
{
  const auto & [folder, fixed, moving, grid, translation, voxels, translationModel, randomModel] = scenario;
  // --- An affine initial transform t0(p) = A p + b (itk::AffineTransform, as read from a .mat):
  // the field is A(x + t) + b - x and the warped image moving(A(x + t) + b).
  {
    auto affine = itk::AffineTransform<double, 3>::New();
    itk::Point<double, 3> center;
    fixed->TransformIndexToPhysicalPoint({ { 8, 8, 8 } }, center);
    affine->SetCenter(center);
    affine->Rotate3D(itk::Vector<double, 3>{ std::array<double, 3>{ 0.0, 0.0, 1.0 }.data() }, 0.05);
    affine->Scale(1.03);
    affine->Translate(itk::Vector<double, 3>{ std::array<double, 3>{ 1.5, -2.0, 0.5 }.data() });
    auto withAffine = filterWithModel(scenario, translationModel);
    withAffine->SetInitialTransform(affine);
    ITK_TRY_EXPECT_NO_EXCEPTION(withAffine->Update());
    double worstField = 0.0, worstWarp = 0.0;
    itk::ImageRegionConstIteratorWithIndex<FieldType> f(withAffine->GetDisplacementField(),
                                                        withAffine->GetDisplacementField()->GetLargestPossibleRegion());
    for (; !f.IsAtEnd(); ++f)
    {
      itk::Point<double, 3> x;
      fixed->TransformIndexToPhysicalPoint(f.GetIndex(), x);
      const itk::Point<double, 3> mapped = affine->TransformPoint(x + translation);
      for (unsigned int a = 0; a < 3; ++a)
        worstField = std::max(worstField, std::abs(x[a] + f.Get()[a] - mapped[a]));
      // Inside the moving image (the analytic image has no border there).
      const double warped = withAffine->GetWarpedImage()->GetPixel(f.GetIndex());
      itk::ContinuousIndex<double, 3> inMoving;
      if (moving->TransformPhysicalPointToContinuousIndex(mapped, inMoving))
        worstWarp = std::max(worstWarp, std::abs(warped - movingValue(mapped)));
    }
    std::cout << "affine initial transform: x + u(x) vs A(x + t) + b " << worstField
              << " mm, warped vs moving(A(x + t) + b) " << worstWarp << std::endl;
    ITK_TEST_EXPECT_TRUE(worstField < 1e-3);
    ITK_TEST_EXPECT_TRUE(worstWarp < 1e-2);
    // The deformable part before t0 is composed (ANTs' P1Warp): the network's translation t.
    const FieldType * deformable = withAffine->GetDeformableDisplacementField();
    ITK_TEST_EXPECT_TRUE(deformable != withAffine->GetDisplacementField());
    double worstDeformable = 0.0;
    itk::ImageRegionConstIterator<FieldType> w(deformable, deformable->GetLargestPossibleRegion());
    for (; !w.IsAtEnd(); ++w)
      for (unsigned int a = 0; a < 3; ++a)
        worstDeformable = std::max(worstDeformable, std::abs(w.Get()[a] - translation[a]));
    std::cout << "affine initial transform: deformable part vs t " << worstDeformable << " mm" << std::endl;
    ITK_TEST_EXPECT_TRUE(worstDeformable < 1e-4);
    // A change to the transform's parameters makes the filter run again.
    const auto before = withAffine->GetMTime();
    affine->Translate(itk::Vector<double, 3>{ std::array<double, 3>{ 1.0, 0.0, 0.0 }.data() });
    ITK_TEST_EXPECT_TRUE(withAffine->GetMTime() > before);
    // Both kinds of initial transform at once is refused.
    auto initialField = FieldType::New();
    initialField->CopyInformation(moving);
    initialField->SetRegions(moving->GetLargestPossibleRegion());
    initialField->Allocate();
    initialField->FillBuffer(FieldType::PixelType(0.0f));
    withAffine->SetInitialDisplacementField(initialField);
    ITK_TRY_EXPECT_EXCEPTION(withAffine->Update());
  }
  return EXIT_SUCCESS;
}

int
testPixelTypes(const Scenario & scenario)
{
  const auto & [folder, fixed, moving, grid, translation, voxels, translationModel, randomModel] = scenario;
  // --- Other scalar pixel types (unsigned char fixed, short moving) go through the same path.
  using CharImage = itk::Image<unsigned char, 3>;
  using ShortImage = itk::Image<short, 3>;
  auto charFixed = CharImage::New();
  charFixed->CopyInformation(fixed);
  charFixed->SetRegions(fixed->GetLargestPossibleRegion());
  charFixed->Allocate();
  charFixed->FillBuffer(7);
  charFixed->SetPixel({ { 3, 3, 3 } }, 200);
  auto shortMoving = ShortImage::New();
  shortMoving->CopyInformation(moving);
  shortMoving->SetRegions(moving->GetLargestPossibleRegion());
  shortMoving->Allocate();
  shortMoving->FillBuffer(-300);
  auto mixed = itk::SHMoARegistrationFilter<CharImage, ShortImage>::New();
  mixed->SetFixedImage(charFixed);
  mixed->SetMovingImage(shortMoving);
  const std::string zeroModel = folder + "/zero.pt";
  shmoareg_test::writeConstantDisplacementModel(zeroModel, { 0.0, 0.0, 0.0 });
  auto zeroNetwork = itk::SHMoARegModel::New();
  zeroNetwork->SetDevice("cpu");
  zeroNetwork->LoadFromFile(zeroModel);
  mixed->SetModel(zeroNetwork);
  mixed->SetDevice("cpu");
  mixed->SetNetworkGridSize(grid);
  ITK_TRY_EXPECT_NO_EXCEPTION(mixed->Update());
  ITK_TEST_EXPECT_EQUAL(mixed->GetWarpedImage()->GetPixel({ { 5, 5, 5 } }), -300);
  ITK_TEST_EXPECT_EQUAL(mixed->GetDisplacementField()->GetPixel({ { 5, 5, 5 } }).GetNorm(), 0.0f);
  return EXIT_SUCCESS;
}

int
testRoundTrip(const Scenario & scenario)
{
  const auto & [folder, fixed, moving, grid, translation, voxels, translationModel, randomModel] = scenario;
  // --- Round trip: with the network grid equal to the fixed grid, the filter's field back in
  // voxel units equals the network's own output on the preprocessed images.
  auto roundTrip = FilterType::New();
  roundTrip->SetFixedImage(fixed);
  roundTrip->SetMovingImage(moving);
  roundTrip->SetModelFileName(randomModel);
  roundTrip->SetDevice("cpu");
  roundTrip->SetNetworkGridSize(fixed->GetLargestPossibleRegion().GetSize());
  roundTrip->Update();
  auto network = itk::SHMoARegModel::New();
  network->SetDevice("cpu");
  network->LoadFromFile(randomModel);
  auto * inner = roundTrip->GetMoEDisplacementFieldSource();
  const auto direct = network->Predict(inner->GetFixedImage(), inner->GetMovingImage());
  const auto backToVoxels = itk::SHMoARegNetworkGrid::PhysicalToVoxel(roundTrip->GetDisplacementField());
  double worstRoundTrip = 0.0, largest = 0.0;
  itk::ImageRegionConstIterator<FieldType> a(backToVoxels, backToVoxels->GetLargestPossibleRegion());
  itk::ImageRegionConstIterator<FieldType> b(direct.VoxelDisplacement,
                                             direct.VoxelDisplacement->GetLargestPossibleRegion());
  for (; !a.IsAtEnd(); ++a, ++b)
  {
    worstRoundTrip = std::max(worstRoundTrip, static_cast<double>((a.Get() - b.Get()).GetNorm()));
    largest = std::max(largest, static_cast<double>(b.Get().GetNorm()));
  }
  std::cout << "round trip: largest network displacement " << largest << " voxels, deviation " << worstRoundTrip
            << std::endl;
  ITK_TEST_EXPECT_TRUE(largest > 0.01);
  ITK_TEST_EXPECT_TRUE(worstRoundTrip < 1e-4);
  return EXIT_SUCCESS;
}

int
testLabels(const Scenario & scenario)
{
  const auto & [folder, fixed, moving, grid, translation, voxels, translationModel, randomModel] = scenario;
  auto filter = filterWithModel(scenario, translationModel);
  // --- Labels are warped by nearest neighbour and keep their values.
  auto labels = LabelImageType::New();
  labels->CopyInformation(moving);
  labels->SetRegions(moving->GetLargestPossibleRegion());
  labels->Allocate();
  itk::ImageRegionIteratorWithIndex<LabelImageType> l(labels, labels->GetLargestPossibleRegion());
  for (; !l.IsAtEnd(); ++l)
  {
    l.Set(static_cast<unsigned short>((l.GetIndex()[0] / 8) * 7 + 3));
  }
  filter->SetMovingLabelImage(labels);
  filter->Update();
  std::set<unsigned short> allowed;
  for (int i = 0; i < 8; ++i)
    allowed.insert(static_cast<unsigned short>(i * 7 + 3));
  allowed.insert(0);
  bool labelsKept = true;
  itk::ImageRegionConstIterator<LabelImageType> wl(filter->GetWarpedLabelImage(),
                                                   filter->GetWarpedLabelImage()->GetLargestPossibleRegion());
  for (; !wl.IsAtEnd(); ++wl)
  {
    labelsKept = labelsKept && allowed.count(wl.Get()) > 0;
  }
  ITK_TEST_EXPECT_TRUE(labelsKept);
  return EXIT_SUCCESS;
}

int
testNetworkGrid(const Scenario & scenario)
{
  const auto & [folder, fixed, moving, grid, translation, voxels, translationModel, randomModel] = scenario;
  // --- The network grid: from the model's training voxel size unless given.
  {
    const std::string trained = folder + "/trained-at-6-6-4mm.pt";
    shmoareg_test::writeConstantDisplacementModel(trained, { 0.0, 0.0, 0.0 }, R"({"network_voxel_mm": [6, 6, 4]})");
    auto automatic = FilterType::New();
    automatic->SetFixedImage(fixed);
    automatic->SetMovingImage(moving);
    automatic->SetModelFileName(trained);
    automatic->SetDevice("cpu");
    ITK_TRY_EXPECT_NO_EXCEPTION(automatic->Update());
    // Extent (60, 66, 48) mm over (6, 6, 4) mm voxels.
    ITK_TEST_EXPECT_EQUAL(automatic->GetUsedNetworkGridSize(), FilterType::GridSizeType({ { 10, 11, 12 } }));
    FilterType::SpacingType wanted;
    wanted.Fill(5.0);
    automatic->SetNetworkGridSpacing(wanted); // over the model's: 60/5, 66/5 -> 13, 48/5 -> 10
    ITK_TRY_EXPECT_NO_EXCEPTION(automatic->Update());
    ITK_TEST_EXPECT_EQUAL(automatic->GetUsedNetworkGridSize(), FilterType::GridSizeType({ { 12, 13, 10 } }));
    automatic->SetNetworkGridSize(grid); // an explicit size wins
    ITK_TRY_EXPECT_NO_EXCEPTION(automatic->Update());
    ITK_TEST_EXPECT_EQUAL(automatic->GetUsedNetworkGridSize(), grid);

    // A file from before the record: the centre crop over the grid; a preset knows none (128^3).
    const std::string cropped = folder + "/cropped.pt";
    shmoareg_test::writeConstantDisplacementModel(
      cropped, { 0.0, 0.0, 0.0 }, R"({"training": {"centre_crop_mm": [144, 180, 144], "grid": [48, 60, 48]}})");
    auto model = itk::SHMoARegModel::New();
    model->LoadFromFile(cropped);
    FilterType::SpacingType expected;
    expected.Fill(3.0);
    ITK_TEST_EXPECT_EQUAL(model->GetTrainingVoxelSpacing(), expected);
    expected[0] = 144.0;
    expected[1] = 180.0;
    expected[2] = 144.0;
    ITK_TEST_EXPECT_EQUAL(model->GetTrainingFieldOfView(), expected); // the crop was the field of view
    model->CreateFromPreset("VM");
    expected.Fill(0.0);
    ITK_TEST_EXPECT_EQUAL(model->GetTrainingVoxelSpacing(), expected);
    ITK_TEST_EXPECT_EQUAL(model->GetTrainingFieldOfView(), expected);

    // The model's training field of view: a box of 30 x 36 x 24 mm centred on the fixed image
    // (60 x 66 x 48 mm), 5 x 6 x 6 voxels of 6 x 6 x 4 mm; past the box the field keeps the
    // box's border value (here the network's constant 1 x -2 x 0.5 voxels everywhere).
    const std::string boxed = folder + "/trained-on-a-box.pt";
    shmoareg_test::writeConstantDisplacementModel(
      boxed, { 1.0, -2.0, 0.5 }, R"({"network_voxel_mm": [6, 6, 4], "network_field_of_view_mm": [30, 36, 24]})");
    auto inBox = FilterType::New();
    inBox->SetFixedImage(fixed);
    inBox->SetMovingImage(moving);
    inBox->SetModelFileName(boxed);
    inBox->SetDevice("cpu");
    ITK_TRY_EXPECT_NO_EXCEPTION(inBox->Update());
    ITK_TEST_EXPECT_EQUAL(inBox->GetUsedNetworkGridSize(), FilterType::GridSizeType({ { 5, 6, 6 } }));
    expected[0] = 30.0;
    expected[1] = 36.0;
    expected[2] = 24.0;
    ITK_TEST_EXPECT_EQUAL(inBox->GetUsedNetworkFieldOfView(), expected);
    // In mm along the fixed image's (rotated) axes: D diag(6, 6, 4) (1, -2, 0.5).
    itk::Vector<double, 3> alongAxes;
    alongAxes[0] = 6.0;
    alongAxes[1] = -12.0;
    alongAxes[2] = 2.0;
    const itk::Vector<double, 3> inMm = fixed->GetDirection() * alongAxes;
    FieldType::PixelType constant;
    for (unsigned int a = 0; a < 3; ++a)
      constant[a] = static_cast<float>(inMm[a]);
    double worstOffset = 0.0;
    itk::ImageRegionConstIterator<FieldType> everywhere(inBox->GetDisplacementField(),
                                                        inBox->GetDisplacementField()->GetLargestPossibleRegion());
    for (; !everywhere.IsAtEnd(); ++everywhere)
      worstOffset = std::max(worstOffset, static_cast<double>((everywhere.Get() - constant).GetNorm()));
    std::cout << "constant network field over a box, on the fixed grid: worst offset " << worstOffset << " mm"
              << std::endl;
    ITK_TEST_EXPECT_TRUE(worstOffset < 1e-4);
    inBox->NetworkGridOverWholeImageOn(); // the whole extent again: 60/6, 66/6, 48/4
    ITK_TRY_EXPECT_NO_EXCEPTION(inBox->Update());
    ITK_TEST_EXPECT_EQUAL(inBox->GetUsedNetworkGridSize(), FilterType::GridSizeType({ { 10, 11, 12 } }));
    inBox->NetworkGridOverWholeImageOff();
    expected.Fill(48.0);
    inBox->SetNetworkFieldOfView(expected); // the user's box: 48/6, 48/6, 48/4
    ITK_TRY_EXPECT_NO_EXCEPTION(inBox->Update());
    ITK_TEST_EXPECT_EQUAL(inBox->GetUsedNetworkGridSize(), FilterType::GridSizeType({ { 8, 8, 12 } }));

    // A model trained with the box on the foreground: the box centred there, not on the extent.
    const std::string onForeground = folder + "/trained-on-the-foreground.pt";
    shmoareg_test::writeConstantDisplacementModel(onForeground,
                                                  { 0.0, 0.0, 0.0 },
                                                  R"({"network_voxel_mm": [6, 6, 4], "network_field_of_view_mm": )"
                                                  R"([30, 36, 24], "network_box_centre": "foreground"})");
    auto foreground = FilterType::New();
    foreground->SetFixedImage(fixed);
    foreground->SetMovingImage(moving);
    foreground->SetModelFileName(onForeground);
    foreground->SetDevice("cpu");
    ITK_TRY_EXPECT_NO_EXCEPTION(foreground->Update());
    const auto * networkGrid = foreground->GetMoEDisplacementFieldSource()->GetFixedImage();
    itk::ContinuousIndex<double, 3> middle;
    for (unsigned int a = 0; a < 3; ++a)
      middle[a] = 0.5 * (static_cast<double>(networkGrid->GetLargestPossibleRegion().GetSize(a)) - 1.0);
    itk::Point<double, 3> gridCentre;
    networkGrid->TransformContinuousIndexToPhysicalPoint(middle, gridCentre);
    const auto expectedCentre = itk::SHMoARegNetworkGrid::ForegroundCentre(fixed.GetPointer());
    std::cout << "box on the foreground: centre " << gridCentre << ", foreground centre " << expectedCentre
              << std::endl;
    ITK_TEST_EXPECT_TRUE(gridCentre.EuclideanDistanceTo(expectedCentre) < 1e-6);
    itk::ContinuousIndex<double, 3> fixedMiddle;
    for (unsigned int a = 0; a < 3; ++a)
      fixedMiddle[a] = 0.5 * (static_cast<double>(fixed->GetLargestPossibleRegion().GetSize(a)) - 1.0);
    itk::Point<double, 3> extentCentre;
    fixed->TransformContinuousIndexToPhysicalPoint(fixedMiddle, extentCentre);
    ITK_TEST_EXPECT_TRUE(extentCentre.EuclideanDistanceTo(expectedCentre) > 1.0); // the test can fail
    wanted.Fill(-1.0);
    automatic->SetNetworkGridSize(FilterType::GridSizeType({ { 0, 0, 0 } }));
    automatic->SetNetworkGridSpacing(wanted);
    ITK_TEST_EXPECT_TRUE(throwsWith([&] { automatic->Update(); }, "voxel size must be positive"));
  }
  return EXIT_SUCCESS;
}

int
testMasks(const Scenario & scenario)
{
  const auto & [folder, fixed, moving, grid, translation, voxels, translationModel, randomModel] = scenario;
  // --- Masks: instance optimisation with a mask over everything gives what it gives without;
  // a mask that misses the image is refused by name.
  {
    auto refine = filterWithModel(scenario, randomModel);
    refine->SetNumberOfInstanceOptimizationIterations(5);
    ITK_TRY_EXPECT_NO_EXCEPTION(refine->Update());
    auto unmasked = FieldType::New();
    unmasked->Graft(refine->GetDisplacementField());
    unmasked->DisconnectPipeline();
    auto everywhere = FilterType::MaskImageType::New();
    everywhere->CopyInformation(fixed);
    everywhere->SetRegions(fixed->GetLargestPossibleRegion());
    everywhere->Allocate();
    everywhere->FillBuffer(1);
    refine->SetFixedMask(everywhere);
    ITK_TRY_EXPECT_NO_EXCEPTION(refine->Update());
    double worst = 0.0;
    itk::ImageRegionConstIterator<FieldType> a(unmasked, unmasked->GetLargestPossibleRegion());
    itk::ImageRegionConstIterator<FieldType> b(refine->GetDisplacementField(), unmasked->GetLargestPossibleRegion());
    for (; !a.IsAtEnd(); ++a, ++b)
      worst = std::max(worst, static_cast<double>((a.Get() - b.Get()).GetNorm()));
    std::cout << "instance optimisation, whole-image mask vs none: " << worst << " mm" << std::endl;
    ITK_TEST_EXPECT_TRUE(worst < 1e-3);
    auto elsewhere = FilterType::MaskImageType::New();
    elsewhere->SetRegions(FilterType::MaskImageType::SizeType{ { 8, 8, 8 } });
    FilterType::MaskImageType::PointType far;
    far.Fill(5000.0);
    elsewhere->SetOrigin(far);
    elsewhere->Allocate();
    elsewhere->FillBuffer(1);
    refine->SetMovingMask(elsewhere);
    ITK_TEST_EXPECT_TRUE(throwsWith([&] { refine->Update(); }, "moving mask does not overlap"));
  }
  return EXIT_SUCCESS;
}

int
testBadInput(const Scenario & scenario)
{
  const auto & [folder, fixed, moving, grid, translation, voxels, translationModel, randomModel] = scenario;
  // --- Bad input: each an exception that names the problem.
  auto bad = FilterType::New();
  bad->SetDevice("cpu");
  bad->SetNetworkGridSize(grid);
  bad->SetFixedImage(fixed);
  bad->SetMovingImage(moving);
  ITK_TEST_EXPECT_TRUE(throwsWith([&] { bad->Update(); }, "no model"));
  bad->SetModelFileName(folder + "/missing.pt");
  ITK_TEST_EXPECT_TRUE(throwsWith([&] { bad->Update(); }, "missing.pt"));
  std::ofstream(folder + "/garbage.pt") << "garbage";
  bad->SetModelFileName(folder + "/garbage.pt");
  ITK_TEST_EXPECT_TRUE(throwsWith([&] { bad->Update(); }, "garbage.pt"));
  shmoareg_test::writeTwoChannelModel(folder + "/two-channels.pt");
  bad->SetModelFileName(folder + "/two-channels.pt");
  ITK_TEST_EXPECT_TRUE(throwsWith([&] { bad->Update(); }, "channels"));
  bad->SetModelFileName(translationModel);

  auto withNaN = FixedImageType::New();
  withNaN->Graft(makeFixed());
  withNaN->SetPixel({ { 3, 4, 5 } }, std::nanf(""));
  bad->SetFixedImage(withNaN);
  ITK_TEST_EXPECT_TRUE(throwsWith([&] { bad->Update(); }, "NaN"));
  bad->SetFixedImage(fixed);

  auto empty = MovingImageType::New();
  empty->SetRegions(MovingImageType::SizeType{ { 0, 0, 0 } });
  empty->Allocate();
  bad->SetMovingImage(empty);
  ITK_TEST_EXPECT_TRUE(throwsWith([&] { bad->Update(); }, "empty"));
  bad->SetMovingImage(moving);

  auto offGrid = LabelImageType::New();
  offGrid->SetRegions(LabelImageType::SizeType{ { 10, 10, 10 } });
  offGrid->Allocate(true);
  bad->SetMovingLabelImage(offGrid);
  ITK_TEST_EXPECT_TRUE(throwsWith([&] { bad->Update(); }, "moving label image must lie on the moving image's grid"));
  bad->SetMovingLabelImage(nullptr);

  bad->SetDevice("cuda");
  try
  {
    bad->Update();
    std::cout << "CUDA is available here: the missing-CUDA error path is not exercised" << std::endl;
  }
  catch (const itk::ExceptionObject & error)
  {
    ITK_TEST_EXPECT_TRUE(std::string(error.GetDescription()).find("CUDA") != std::string::npos);
  }
  bad->SetDevice("cpu");

  // Aborting: an observer that asks to stop at the first progress event.
  auto abortOnProgress = itk::CStyleCommand::New();
  abortOnProgress->SetCallback([](itk::Object * caller, const itk::EventObject &, void *) {
    static_cast<itk::ProcessObject *>(caller)->AbortGenerateDataOn();
  });
  bad->AddObserver(itk::ProgressEvent(), abortOnProgress);
  bad->Modified();
  ITK_TRY_EXPECT_EXCEPTION(bad->Update());
  return EXIT_SUCCESS;
}

} // namespace

int
itkSHMoARegistrationFilterTest(int argc, char * argv[])
{
  if (argc < 2)
  {
    std::cerr << "usage: " << itkNameOfTestExecutableMacro(argv) << " temporaryDirectory [scenario]" << std::endl;
    return EXIT_FAILURE;
  }
  Scenario scenario;
  scenario.folder = argv[1];
  const std::string & folder = scenario.folder;
  scenario.fixed = makeFixed();
  scenario.moving = makeMoving();
  scenario.grid.Fill(16);
  const auto & fixed = scenario.fixed;
  const auto & grid = scenario.grid;
  // --- A constant translation of (2, -1, 3) mm. In voxels of the network grid (index order):
  // v = diag(1 / spacing_net) D^T t.
  const auto networkGrid = itk::SHMoARegNetworkGrid::MakeGrid(fixed, grid);
  scenario.translation = itk::Vector<double, 3>{ std::array<double, 3>{ 2.0, -1.0, 3.0 }.data() };
  const itk::Vector<double, 3> rotated =
    itk::Matrix<double, 3, 3>(networkGrid->GetDirection().GetTranspose()) * scenario.translation;
  std::array<double, 3> voxels;
  for (unsigned int a = 0; a < 3; ++a)
  {
    voxels[a] = rotated[a] / networkGrid->GetSpacing()[a];
  }
  scenario.translationModel = folder + "/translation.pt";
  scenario.translationVoxels = voxels;
  shmoareg_test::writeConstantDisplacementModel(scenario.translationModel, voxels);
  scenario.randomModel = folder + "/random.pt";
  shmoareg_test::writeRandomFieldModel(scenario.randomModel, 7);

  // Each scenario alone when named (ctest runs them one at a time, so each fails on its own);
  // all of them without a name.
  const std::vector<std::pair<std::string, int (*)(const Scenario &)>> scenarios{
    { "Translation", testTranslation },     { "DiffeomorphicInverse", testDiffeomorphicInverse },
    { "ZeroModel", testZeroModel },         { "InitialField", testInitialField },
    { "InitialAffine", testInitialAffine }, { "PixelTypes", testPixelTypes },
    { "RoundTrip", testRoundTrip },         { "Labels", testLabels },
    { "NetworkGrid", testNetworkGrid },     { "Masks", testMasks },
    { "BadInput", testBadInput },
  };
  const std::string wanted = argc > 2 ? argv[2] : "";
  bool found = wanted.empty();
  for (const auto & [name, run] : scenarios)
  {
    if (!wanted.empty() && name != wanted)
      continue;
    found = true;
    std::cout << "scenario " << name << std::endl;
    if (run(scenario) != EXIT_SUCCESS)
    {
      std::cerr << "scenario " << name << " failed" << std::endl;
      return EXIT_FAILURE;
    }
  }
  if (!found)
  {
    std::cerr << "no scenario named " << wanted << std::endl;
    return EXIT_FAILURE;
  }
  std::cout << "Test finished." << std::endl;
  return EXIT_SUCCESS;
}
