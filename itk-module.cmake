# The module's description for ITK's module system (used when ITK is a build tree;
# the plain-CMake path against Debian's installed ITK reads the same lists below).
set(DOCUMENTATION "Deep-learning deformable image registration with SHMoAReg (Spatial
Heterogeneous Mixture of Experts and Mixture of Attention heads) on a LibTorch backend:
a registration filter, a Mixture-of-Experts displacement-field source and registration
metric filters (Jacobian folding, Dice, average symmetric surface distance).")

itk_module(SHMoAReg
  DEPENDS
    ITKCommon
    ITKImageGrid
    ITKImageFunction
    ITKTransform
    ITKDisplacementField
    ITKDistanceMap
    ITKIOImageBase
    ITKIONIFTI
    ITKIOMeta
    ITKIONRRD
  # The command line only (not the filters' public interface): transform files (.h5, .mat,
  # .txt) and the affine pre-alignment with ITK's v4 registration framework.
  PRIVATE_DEPENDS
    ITKIOTransformBase
    ITKIOTransformHDF5
    ITKIOTransformMatlab
    ITKIOTransformInsightLegacy
    ITKRegistrationMethodsv4
    ITKMetricsv4
    ITKOptimizersv4
  TEST_DEPENDS
    ITKTestKernel
  DESCRIPTION
    "${DOCUMENTATION}"
  EXCLUDE_FROM_DEFAULT
  ENABLE_SHARED
)
