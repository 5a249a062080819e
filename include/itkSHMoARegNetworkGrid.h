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
#ifndef itkSHMoARegNetworkGrid_h
#define itkSHMoARegNetworkGrid_h

#include "SHMoARegExport.h"
#include "itkSHMoARegImageTypes.h"

#include "itkImage.h"
#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkNearestNeighborInterpolateImageFunction.h"
#include "itkResampleImageFilter.h"
#include "itkTransform.h"
#include "itkVector.h"

#include <algorithm>

namespace itk {

/** \class SHMoARegNetworkGrid
 * \brief The conversions between an image's physical space and the network grid.
 *
 * The data flow of the module, one function per arrow:
 *  - MakeGrid: the network grid of an image, N voxels per axis covering its physical extent
 *    (voxel edge to voxel edge) with its direction, or a box of a given field of view centred on
 *    that extent (a model's training field of view: the trainer and the filters share this one
 *    function); GridSizeForSpacing: the N that gives a voxel size nearest a wanted one (a model's
 *    training voxel size);
 *  - NormalizeIntensities: intensities to [0, 1] between robust percentiles;
 *  - VoxelToPhysical: a displacement in voxels of a grid to millimetres in ITK's physical (LPS)
 *    frame, u_mm = D diag(spacing) u_voxel, ITK's displacement-field convention;
 *  - PhysicalToVoxel: its inverse.
 *  - PrepareNetworkInput: an image of any scalar type and grid -> float on the network grid
 *    (linear, in physical space, 0 outside) with normalised intensities;
 * (Image <-> tensor is the private ImageTensorBridge; resampling between grids is ITK's.)
 *
 * \ingroup SHMoAReg
 */
class SHMoAReg_EXPORT SHMoARegNetworkGrid
{
public:
  using ImageType = SHMoARegImageTypes::ImageType;
  using DisplacementFieldType = SHMoARegImageTypes::DisplacementFieldType;
  using SizeType = ImageType::SizeType;

  using FieldOfViewType = FixedArray<double, 3>;
  using PointType = ImageType::PointType;

  /** An image (not allocated) with the network grid's geometry for `reference`: `size` voxels
   * per axis over a box of `fieldOfView` mm (along the reference's axes) centred on the
   * reference's physical extent, with its direction. A zero (the default) on an axis: the
   * reference's whole extent on that axis. A box larger than the image reaches past it (the
   * inputs are 0 there, as a model trained on that box saw around smaller heads). */
  static ImageType::Pointer
  MakeGrid(const ImageBase<3> * reference, const SizeType & size, const FieldOfViewType & fieldOfView = {});
  /** The same box centred on `boxCentre` (a physical point) instead of the reference's extent. */
  static ImageType::Pointer
  MakeGrid(const ImageBase<3> * reference,
           const SizeType & size,
           const FieldOfViewType & fieldOfView,
           const PointType & boxCentre);

  /** Where a head or brain lies in its image, whatever the image's extent: the mean physical
   * position of the voxels brighter than the image's mean intensity (the background is darker
   * and larger). A constant image: the centre of its extent. */
  template <typename TImage>
  static PointType
  ForegroundCentre(const TImage * image)
  {
    const auto region = image->GetLargestPossibleRegion();
    double mean = 0.0;
    for (ImageRegionConstIteratorWithIndex<TImage> it(image, region); !it.IsAtEnd(); ++it)
    {
      mean += static_cast<double>(it.Get());
    }
    mean /= static_cast<double>(std::max<SizeValueType>(1, region.GetNumberOfPixels()));
    Vector<double, 3> sum;
    sum.Fill(0.0);
    double count = 0.0;
    for (ImageRegionConstIteratorWithIndex<TImage> it(image, region); !it.IsAtEnd(); ++it)
    {
      if (static_cast<double>(it.Get()) > mean)
      {
        for (unsigned int a = 0; a < 3; ++a)
        {
          sum[a] += static_cast<double>(it.GetIndex()[a]);
        }
        count += 1.0;
      }
    }
    ContinuousIndex<double, 3> centre;
    for (unsigned int a = 0; a < 3; ++a)
    {
      centre[a] = count > 0.0
                    ? sum[a] / count
                    : static_cast<double>(region.GetIndex(a)) + 0.5 * (static_cast<double>(region.GetSize(a)) - 1.0);
    }
    PointType point;
    image->TransformContinuousIndexToPhysicalPoint(centre, point);
    return point;
  }

  /** Voxels per axis, round(extent / spacing) and at least 1, so that MakeGrid's voxels over
   * the field of view (zero on an axis: the reference's physical extent) come nearest `spacing`
   * (mm). Throws unless spacing > 0. */
  static SizeType
  GridSizeForSpacing(const ImageBase<3> * reference,
                     const FixedArray<double, 3> & spacing,
                     const FieldOfViewType & fieldOfView = {});

  /** Maps the [lowPercentile, highPercentile] intensity range to [0, 1], clipping outside.
   * A constant image becomes 0. Throws on NaN or infinite values. */
  static void
  NormalizeIntensities(ImageType * image, double lowPercentile = 0.5, double highPercentile = 99.5);

  /** MakeGrid's geometry filled with `image` resampled onto it (through `transform` when given,
   * e.g. an initial transform) and normalised. */
  template <typename TImage>
  static ImageType::Pointer
  PrepareNetworkInput(const TImage * image,
                      const ImageBase<3> * grid,
                      const Transform<double, 3, 3> * transform = nullptr)
  {
    auto resample = ResampleImageFilter<TImage, ImageType>::New();
    resample->SetInput(image);
    if (transform)
    {
      resample->SetTransform(transform); // a grid point x samples the image at transform(x)
    }
    resample->SetOutputParametersFromImage(grid);
    resample->Update();
    ImageType::Pointer onGrid = resample->GetOutput();
    onGrid->DisconnectPipeline();
    NormalizeIntensities(onGrid);
    return onGrid;
  }

  /** A mask (non-zero inside) on `grid`'s voxels (nearest neighbour, 0 outside it) as
   * TOutputImage; null when no voxel of it lies on the grid (each caller says which mask missed
   * what). The registration filter's masks and the evaluation's both come through here. */
  template <typename TOutputImage, typename TMaskImage>
  static typename TOutputImage::Pointer
  MaskOnGrid(const TMaskImage * mask, const ImageBase<3> * grid)
  {
    auto resample = ResampleImageFilter<TMaskImage, TOutputImage>::New();
    resample->SetInput(mask);
    resample->SetInterpolator(NearestNeighborInterpolateImageFunction<TMaskImage, double>::New());
    resample->SetOutputParametersFromImage(grid);
    resample->Update();
    typename TOutputImage::Pointer onGrid = resample->GetOutput();
    onGrid->DisconnectPipeline();
    const auto * begin = onGrid->GetBufferPointer();
    const auto * end = begin + onGrid->GetBufferedRegion().GetNumberOfPixels();
    const bool anyInside = std::any_of(begin, end, [](typename TOutputImage::PixelType v) { return v != 0; });
    return anyInside ? onGrid : nullptr;
  }

  static DisplacementFieldType::Pointer
  VoxelToPhysical(const DisplacementFieldType * voxelField);

  static DisplacementFieldType::Pointer
  PhysicalToVoxel(const DisplacementFieldType * physicalField);
};

} // namespace itk

#endif
