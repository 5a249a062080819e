// ITK's SyN (itk::SyNImageRegistrationMethod), the ANTs algorithm in ITK's v4 framework, as a
// peer for the registration comparison. ANTs' usual brain setting: neighbourhood
// cross-correlation (radius 2), three levels (shrink 4/2/1, smoothing 2/1/0 voxels), gradient
// step 0.25, update-field variance 3, total-field variance 0. Writes the forward field
// (fixed -> moving) on the fixed grid.
#include "PeerCommon.h"

#include "itkANTSNeighborhoodCorrelationImageToImageMetricv4.h"
#include "itkCastImageFilter.h"
#include "itkDisplacementFieldTransformParametersAdaptor.h"
#include "itkShrinkImageFilter.h"
#include "itkSyNImageRegistrationMethod.h"

int
main(int argc, char * argv[])
{
  using namespace shmoareg::bench;
  const PeerArguments arguments = parsePeerArguments(argc, argv);
  try
  {
    const auto fixed = itk::ReadImage<PeerImageType>(arguments.fixed);
    const auto moving = itk::ReadImage<PeerImageType>(arguments.moving);
    const Stopwatch clock;

    using RealFieldType = itk::Image<itk::Vector<double, 3>, 3>;
    using TransformType = itk::DisplacementFieldTransform<double, 3>;
    using RegistrationType = itk::SyNImageRegistrationMethod<PeerImageType, PeerImageType, TransformType>;
    auto registration = RegistrationType::New();
    registration->SetFixedImage(fixed);
    registration->SetMovingImage(moving);

    using MetricType = itk::ANTSNeighborhoodCorrelationImageToImageMetricv4<PeerImageType, PeerImageType>;
    auto metric = MetricType::New();
    MetricType::RadiusType radius;
    radius.Fill(2);
    metric->SetRadius(radius);
    registration->SetMetric(metric);

    // The identity to start from, on the fixed grid (the virtual domain).
    auto zero = RealFieldType::New();
    zero->CopyInformation(fixed);
    zero->SetRegions(fixed->GetLargestPossibleRegion());
    zero->Allocate();
    zero->FillBuffer(itk::NumericTraits<RealFieldType::PixelType>::ZeroValue());
    auto transform = TransformType::New();
    transform->SetDisplacementField(zero);
    registration->SetInitialTransform(transform);
    registration->InPlaceOn();

    constexpr unsigned int levels = 3;
    RegistrationType::ShrinkFactorsArrayType shrink(levels);
    RegistrationType::SmoothingSigmasArrayType sigmas(levels);
    RegistrationType::NumberOfIterationsArrayType iterations(levels);
    const unsigned int shrinkPerLevel[levels] = { 4, 2, 1 };
    const double sigmaPerLevel[levels] = { 2.0, 1.0, 0.0 };
    const unsigned int iterationsPerLevel[levels] = { 100, 70, 40 };
    RegistrationType::TransformParametersAdaptorsContainerType adaptors;
    for (unsigned int level = 0; level < levels; ++level)
    {
      shrink[level] = shrinkPerLevel[level];
      sigmas[level] = sigmaPerLevel[level];
      iterations[level] = iterationsPerLevel[level];
      // The field's grid at this level: the fixed grid shrunk as the images are.
      auto shrinkField = itk::ShrinkImageFilter<RealFieldType, RealFieldType>::New();
      shrinkField->SetShrinkFactors(shrinkPerLevel[level]);
      shrinkField->SetInput(zero);
      shrinkField->Update();
      using AdaptorType = itk::DisplacementFieldTransformParametersAdaptor<TransformType>;
      auto adaptor = AdaptorType::New();
      adaptor->SetRequiredSpacing(shrinkField->GetOutput()->GetSpacing());
      adaptor->SetRequiredSize(shrinkField->GetOutput()->GetLargestPossibleRegion().GetSize());
      adaptor->SetRequiredDirection(shrinkField->GetOutput()->GetDirection());
      adaptor->SetRequiredOrigin(shrinkField->GetOutput()->GetOrigin());
      adaptors.push_back(adaptor);
    }
    registration->SetNumberOfLevels(levels);
    registration->SetShrinkFactorsPerLevel(shrink);
    registration->SetSmoothingSigmasPerLevel(sigmas);
    registration->SetSmoothingSigmasAreSpecifiedInPhysicalUnits(false);
    registration->SetTransformParametersAdaptorsPerLevel(adaptors);
    registration->SetNumberOfIterationsPerLevel(iterations);
    registration->SetLearningRate(0.25);
    registration->SetConvergenceThreshold(1e-6);
    registration->SetConvergenceWindowSize(10);
    registration->SetGaussianSmoothingVarianceForTheUpdateField(3.0);
    registration->SetGaussianSmoothingVarianceForTheTotalField(0.0);
    registration->Update();

    auto cast = itk::CastImageFilter<RealFieldType, PeerFieldType>::New();
    cast->SetInput(registration->GetModifiableTransform()->GetDisplacementField());
    cast->Update();
    const double seconds = clock.seconds();
    writeFieldAtomically(cast->GetOutput(), arguments.outputField);
    std::cout << "ITK SyN: " << seconds << " s\n";
  }
  catch (const itk::ExceptionObject & error)
  {
    std::cerr << "ITK SyN failed: " << error.GetDescription() << "\n";
    return 1;
  }
  return 0;
}
