#include "AffinePreAlignment.h"

#include "itkCenteredTransformInitializer.h"
#include "itkImageRegistrationMethodv4.h"
#include "itkMattesMutualInformationImageToImageMetricv4.h"
#include "itkRegistrationParameterScalesFromPhysicalShift.h"
#include "itkRegularStepGradientDescentOptimizerv4.h"

#include <chrono>

namespace shmoareg::cli {

AffinePreAlignmentResult
affinePreAlignment(const itk::SHMoARegImageTypes::ImageType * fixed,
                   const itk::SHMoARegImageTypes::ImageType * moving,
                   std::ostream & log)
{
  using ImageType = itk::SHMoARegImageTypes::ImageType;
  using AffineType = itk::AffineTransform<double, 3>;
  using MetricType = itk::MattesMutualInformationImageToImageMetricv4<ImageType, ImageType>;
  using OptimizerType = itk::RegularStepGradientDescentOptimizerv4<double>;
  using RegistrationType = itk::ImageRegistrationMethodv4<ImageType, ImageType, AffineType>;
  const auto start = std::chrono::steady_clock::now();

  auto affine = AffineType::New();
  auto initializer = itk::CenteredTransformInitializer<AffineType, ImageType, ImageType>::New();
  initializer->SetTransform(affine);
  initializer->SetFixedImage(fixed);
  initializer->SetMovingImage(moving);
  initializer->MomentsOn();
  initializer->InitializeTransform();

  auto metric = MetricType::New();
  metric->SetNumberOfHistogramBins(32);
  auto scales = itk::RegistrationParameterScalesFromPhysicalShift<MetricType>::New();
  scales->SetMetric(metric);
  auto optimizer = OptimizerType::New();
  optimizer->SetScalesEstimator(scales);
  optimizer->SetDoEstimateLearningRateOnce(true);
  optimizer->SetLearningRate(1.0);
  optimizer->SetMinimumStepLength(1e-3);
  optimizer->SetRelaxationFactor(0.5);
  optimizer->SetNumberOfIterations(100);

  auto registration = RegistrationType::New();
  registration->SetFixedImage(fixed);
  registration->SetMovingImage(moving);
  registration->SetMetric(metric);
  registration->SetOptimizer(optimizer);
  registration->SetInitialTransform(affine);
  registration->InPlaceOn();
  registration->SetNumberOfLevels(3);
  RegistrationType::ShrinkFactorsArrayType shrink(3);
  RegistrationType::SmoothingSigmasArrayType sigmas(3);
  shrink[0] = 4;
  shrink[1] = 2;
  shrink[2] = 1;
  sigmas[0] = 2.0;
  sigmas[1] = 1.0;
  sigmas[2] = 0.0;
  registration->SetShrinkFactorsPerLevel(shrink);
  registration->SetSmoothingSigmasPerLevel(sigmas);
  registration->SetSmoothingSigmasAreSpecifiedInPhysicalUnits(false);
  registration->SetMetricSamplingStrategy(RegistrationType::MetricSamplingStrategyEnum::RANDOM);
  registration->SetMetricSamplingPercentage(0.2);
  registration->MetricSamplingReinitializeSeed(20261126);

  AffinePreAlignmentResult result;
  unsigned int level = 0;
  registration->AddObserver(itk::MultiResolutionIterationEvent(), [&](const itk::EventObject &) {
    if (level > 0)
      log << "  affine level " << level << ": " << optimizer->GetCurrentIteration() << " iterations, Mattes MI "
          << optimizer->GetValue() << "\n";
    result.iterations += level > 0 ? optimizer->GetCurrentIteration() : 0;
    ++level;
  });
  try
  {
    registration->Update();
  }
  catch (const itk::ExceptionObject & error)
  {
    throw std::runtime_error(std::string("the affine pre-alignment failed: ") + error.GetDescription());
  }
  log << "  affine level " << level << ": " << optimizer->GetCurrentIteration() << " iterations, Mattes MI "
      << optimizer->GetValue() << " (" << optimizer->GetStopConditionDescription() << ")\n";
  result.iterations += optimizer->GetCurrentIteration();
  result.transform = affine;
  result.metricValue = optimizer->GetValue();
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

} // namespace shmoareg::cli
