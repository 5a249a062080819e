// ITK's diffeomorphic demons (Vercauteren et al.) as a peer for the registration comparison:
// histogram matching (demons assumes equal intensities), then three levels (ITK's multi-
// resolution PDE framework), symmetrised gradients, field smoothing sigma 1.5 voxels, step
// at most 2 voxels. Writes the field (fixed -> moving, mm) on the fixed grid.
#include "PeerCommon.h"

#include "itkDiffeomorphicDemonsRegistrationFilter.h"
#include "itkHistogramMatchingImageFilter.h"
#include "itkMultiResolutionPDEDeformableRegistration.h"

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

    auto match = itk::HistogramMatchingImageFilter<PeerImageType, PeerImageType>::New();
    match->SetInput(moving);
    match->SetReferenceImage(fixed);
    match->SetNumberOfHistogramLevels(1024);
    match->SetNumberOfMatchPoints(7);
    match->ThresholdAtMeanIntensityOn();
    match->Update();

    using DemonsType = itk::DiffeomorphicDemonsRegistrationFilter<PeerImageType, PeerImageType, PeerFieldType>;
    auto demons = DemonsType::New();
    demons->SetUseGradientType(DemonsType::GradientType::Symmetric);
    demons->SetMaximumUpdateStepLength(2.0);
    demons->SetSmoothDisplacementField(true);
    demons->SetStandardDeviations(1.5);
    demons->SetSmoothUpdateField(false);

    using MultiResolutionType =
      itk::MultiResolutionPDEDeformableRegistration<PeerImageType, PeerImageType, PeerFieldType>;
    auto multiResolution = MultiResolutionType::New();
    multiResolution->SetRegistrationFilter(demons);
    multiResolution->SetNumberOfLevels(3);
    unsigned int iterations[3] = { 60, 40, 20 };
    multiResolution->SetNumberOfIterations(iterations);
    multiResolution->SetFixedImage(fixed);
    multiResolution->SetMovingImage(match->GetOutput());
    multiResolution->Update();
    const double seconds = clock.seconds();
    writeFieldAtomically(multiResolution->GetOutput(), arguments.outputField);
    std::cout << "ITK diffeomorphic demons: " << seconds << " s\n";
  }
  catch (const itk::ExceptionObject & error)
  {
    std::cerr << "ITK demons failed: " << error.GetDescription() << "\n";
    return 1;
  }
  return 0;
}
