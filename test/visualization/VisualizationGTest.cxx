#include "RegistrationFigure.h"
#include "VtkImageConversion.h"

#include "itkImageRegionIteratorWithIndex.h"

#include <vtkDataArray.h>
#include <vtkImageDifference.h>
#include <vtkMatrix3x3.h>
#include <vtkPNGReader.h>
#include <vtkPointData.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace shmoareg::visualization;
namespace fs = std::filesystem;

namespace {
// A 40^3 scene with spacing (1, 1.25, 1.5) and a rotated direction: a fixed sphere, the moving
// sphere shifted, a field with a known folded slab, labels, and expert maps in stripes.
struct Scene
{
  ImageType::Pointer fixed, moving, warped;
  LabelImageType::Pointer fixedLabels, movingLabels;
  FieldType::Pointer field;
  std::vector<ExpertMapType::Pointer> experts;
};

template <typename TImage>
typename TImage::Pointer
allocate()
{
  auto image = TImage::New();
  image->SetRegions(typename TImage::SizeType{ { 40, 40, 40 } });
  const double spacing[3] = { 1.0, 1.25, 1.5 };
  image->SetSpacing(spacing);
  typename TImage::DirectionType direction;
  direction.SetIdentity();
  direction(0, 0) = direction(1, 1) = std::cos(0.3);
  direction(0, 1) = -std::sin(0.3);
  direction(1, 0) = std::sin(0.3);
  image->SetDirection(direction);
  image->Allocate(true);
  return image;
}

Scene
makeScene(bool folded)
{
  Scene s;
  s.fixed = allocate<ImageType>();
  s.moving = allocate<ImageType>();
  s.warped = allocate<ImageType>();
  s.fixedLabels = allocate<LabelImageType>();
  s.movingLabels = allocate<LabelImageType>();
  s.field = allocate<FieldType>();
  itk::ImageRegionIteratorWithIndex<ImageType> it(s.fixed, s.fixed->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    const auto i = it.GetIndex();
    const double r =
      std::sqrt((i[0] - 20.0) * (i[0] - 20.0) + (i[1] - 20.0) * (i[1] - 20.0) + (i[2] - 20.0) * (i[2] - 20.0));
    const double rm =
      std::sqrt((i[0] - 24.0) * (i[0] - 24.0) + (i[1] - 20.0) * (i[1] - 20.0) + (i[2] - 20.0) * (i[2] - 20.0));
    it.Set(r < 12 ? 100.0f + static_cast<float>(i[1]) : 0.0f);
    s.moving->SetPixel(i, rm < 12 ? 100.0f + static_cast<float>(i[1]) : 0.0f);
    s.warped->SetPixel(i, r < 12 ? 100.0f + static_cast<float>(i[1]) : 0.0f);
    s.fixedLabels->SetPixel(i, r < 12 ? (i[0] < 20 ? 1 : 2) : 0);
    s.movingLabels->SetPixel(i, rm < 12 ? (i[0] < 24 ? 1 : 2) : 0);
    // A slab i in [10, 14] folded (u_i decreasing by 2 voxels per voxel) when asked for.
    itk::Vector<double, 3> u(0.0);
    if (folded && i[0] >= 10)
      u[0] = -2.0 * (std::min<itk::IndexValueType>(i[0], 14) - 10);
    const itk::Vector<double, 3> physical = s.field->GetDirection() * u; // index axis 0 in mm
    FieldType::PixelType v;
    for (unsigned a = 0; a < 3; ++a)
      v[a] = static_cast<float>(physical[a]);
    s.field->SetPixel(i, v);
  }
  for (int d = 0; d < 3; ++d)
  {
    auto map = allocate<ExpertMapType>();
    itk::ImageRegionIteratorWithIndex<ExpertMapType> m(map, map->GetLargestPossibleRegion());
    for (; !m.IsAtEnd(); ++m)
      m.Set(static_cast<unsigned char>((m.GetIndex()[d] / 5) % 3));
    s.experts.push_back(map);
  }
  return s;
}

RegistrationFigureInputs
inputsOf(const Scene & s)
{
  RegistrationFigureInputs in;
  in.fixed = s.fixed;
  in.moving = s.moving;
  in.warped = s.warped;
  in.field = s.field;
  in.fixedLabels = s.fixedLabels;
  in.movingLabels = s.movingLabels;
  in.warpedLabels = s.fixedLabels;
  for (const auto & e : s.experts)
    in.expertMaps.push_back(e);
  return in;
}

// Pixels of the panel at (column, row) of the figure grid (FigureOptions default sizes).
size_t
countPixels(vtkImageData * figure, int column, int row, const std::function<bool(const unsigned char *)> & test)
{
  const int panel = 160, header = 28, margin = 70, gap = 4;
  int dims[3];
  figure->GetDimensions(dims);
  size_t count = 0;
  for (int y = 0; y < panel; ++y)
    for (int x = 0; x < panel; ++x)
    {
      const int fx = margin + column * (panel + gap) + x;
      const int fy = dims[1] - 1 - (header + row * (panel + gap) + y); // VTK rows grow upwards
      count += test(static_cast<unsigned char *>(figure->GetScalarPointer(fx, fy, 0)));
    }
  return count;
}
} // namespace

TEST(RegistrationFigure, RendersHeadlessAndShowsWhatItShould)
{
  const Scene folded = makeScene(true);
  const auto figure = renderRegistrationFigure(inputsOf(folded));
  int dims[3];
  figure->GetDimensions(dims);
  EXPECT_EQ(dims[0], 70 + 8 * 164);      // margin + 8 columns (3 images, grid, Jacobian, 3 expert maps)
  EXPECT_EQ(dims[1], 28 + 3 * 164 + 48); // header + 3 rows + the legend
  EXPECT_EQ(figure->GetNumberOfScalarComponents(), 3);

  auto bright = [](const unsigned char * p) { return p[0] + p[1] + p[2] > 60; };
  auto yellow = [](const unsigned char * p) { return p[0] == 255 && p[1] == 230 && p[2] == 0; };
  auto coloured = [](const unsigned char * p) { return !(p[0] == p[1] && p[1] == p[2]); };
  for (int column = 0; column < 8; ++column)
    EXPECT_GT(countPixels(figure, column, 0, bright), 500u) << "blank panel in column " << column;
  // Label contours on the fixed image: coloured pixels; the plain warped grid panel: none.
  EXPECT_GT(countPixels(figure, 0, 0, coloured), 50u);
  // The folded slab is marked in the axial Jacobian panel; without folding nothing is.
  EXPECT_GT(countPixels(figure, 4, 0, yellow), 100u);
  const Scene smooth = makeScene(false);
  const auto plain = renderRegistrationFigure(inputsOf(smooth));
  EXPECT_EQ(countPixels(plain, 4, 0, yellow), 0u);
  // The deformed grid differs where the field is not zero.
  size_t differing = 0;
  for (int x = 0; x < dims[0] * dims[1] * 3; ++x)
    differing += static_cast<unsigned char *>(figure->GetScalarPointer())[x] !=
                 static_cast<unsigned char *>(plain->GetScalarPointer())[x];
  EXPECT_GT(differing, 1000u);
  // The expert panels show all three experts' colours (red, white, blue).
  auto red = [](const unsigned char * p) { return p[0] == 220 && p[1] == 40; };
  auto blue = [](const unsigned char * p) { return p[2] == 220 && p[0] == 40; };
  EXPECT_GT(countPixels(figure, 5, 0, red), 100u);
  EXPECT_GT(countPixels(figure, 5, 0, blue), 100u);
  // The legend under the panels: the Jacobian's colour bar (full blue at 0.5, full red at 2,
  // the folded yellow) under column 4, and one swatch per expert under columns 5 to 7.
  auto legendPixels = [&](int firstColumn, int lastColumn, const std::function<bool(const unsigned char *)> & test) {
    size_t count = 0;
    for (int y = 28 + 3 * 164; y < dims[1]; ++y)
      for (int x = 70 + firstColumn * 164; x < 70 + (lastColumn + 1) * 164; ++x)
        count += test(static_cast<unsigned char *>(figure->GetScalarPointer(x, dims[1] - 1 - y, 0)));
    return count;
  };
  auto fullBlue = [](const unsigned char * p) { return p[0] == 0 && p[1] == 0 && p[2] == 255; };
  auto fullRed = [](const unsigned char * p) { return p[0] == 255 && p[1] == 0 && p[2] == 0; };
  EXPECT_GT(legendPixels(4, 4, fullBlue), 5u);
  EXPECT_GT(legendPixels(4, 4, fullRed), 5u);
  EXPECT_GT(legendPixels(4, 4, yellow), 50u);
  EXPECT_GT(legendPixels(5, 7, red), 100u);
  EXPECT_GT(legendPixels(5, 7, blue), 100u);
  EXPECT_EQ(legendPixels(0, 3, coloured), 0u); // no legend under the image columns
}

TEST(RegistrationFigure, MatchesTheGoldenImage)
{
  const auto figure = renderRegistrationFigure(inputsOf(makeScene(true)));
  const std::string produced = (fs::temp_directory_path() / "shmoareg_registration_figure.png").string();
  writePng(figure, produced);
  const std::string baseline = std::string(SHMOAREG_TEST_DATA) + "/registration_figure_baseline.png";
  ASSERT_TRUE(fs::exists(baseline)) << baseline << " is missing; the produced figure is " << produced;
  auto reader = vtkSmartPointer<vtkPNGReader>::New();
  reader->SetFileName(baseline.c_str());
  reader->Update();
  auto difference = vtkSmartPointer<vtkImageDifference>::New();
  difference->SetInputData(figure);
  difference->SetImageData(reader->GetOutput());
  difference->SetThreshold(16); // per-channel slack (font hinting)
  difference->Update();
  std::cout << "thresholded error against the baseline: " << difference->GetThresholdedError() << std::endl;
  EXPECT_LT(difference->GetThresholdedError(), 20.0) << "compare " << produced << " with " << baseline;

  // The comparison notices a real change: the figure without the folded slab.
  auto changed = vtkSmartPointer<vtkImageDifference>::New();
  changed->SetInputData(renderRegistrationFigure(inputsOf(makeScene(false))));
  changed->SetImageData(reader->GetOutput());
  changed->SetThreshold(16);
  changed->Update();
  EXPECT_GT(changed->GetThresholdedError(), 20.0);
}

TEST(VtkExport, VtiFilesReadBackWithTheSameValues)
{
  const Scene s = makeScene(true);
  const fs::path folder = fs::temp_directory_path() / ("shmoareg_vti_" + std::to_string(::getpid()));
  fs::create_directories(folder);
  writeVti(toVtkImageData(s.field.GetPointer(), "displacement_mm"), (folder / "field.vti").string());
  writeVti(toVtkImageData(s.experts[1].GetPointer(), "experts_j"), (folder / "experts.vti").string());
  const auto field = readVti((folder / "field.vti").string());
  const auto experts = readVti((folder / "experts.vti").string());
  fs::remove_all(folder);

  int dims[3];
  field->GetDimensions(dims);
  EXPECT_EQ(dims[0], 40);
  double spacing[3];
  field->GetSpacing(spacing);
  EXPECT_DOUBLE_EQ(spacing[2], 1.5);
  EXPECT_NEAR(field->GetDirectionMatrix()->GetElement(1, 0), std::sin(0.3), 1e-12);
  auto * vectors = field->GetPointData()->GetArray("displacement_mm");
  ASSERT_NE(vectors, nullptr);
  EXPECT_EQ(vectors->GetNumberOfComponents(), 3);
  const itk::Index<3> probe{ { 12, 7, 30 } };
  const vtkIdType id = probe[0] + 40 * (probe[1] + 40 * probe[2]);
  for (int c = 0; c < 3; ++c)
    EXPECT_FLOAT_EQ(static_cast<float>(vectors->GetComponent(id, c)), s.field->GetPixel(probe)[c]);
  EXPECT_EQ(experts->GetPointData()->GetArray("experts_j")->GetComponent(id, 0), s.experts[1]->GetPixel(probe));
  EXPECT_THROW(readVti((folder / "absent.vti").string()), std::runtime_error);
}

TEST(TrainingCurves, PlotsALogAndRefusesOthers)
{
  const fs::path log = fs::temp_directory_path() / ("shmoareg_log_" + std::to_string(::getpid()) + ".csv");
  {
    std::ofstream out(log);
    out << "iteration,split,total,similarity,smoothness,routing,moa_balance,moa_z,dice,seconds\n";
    out << "0,val,0.05,0.05,0,0,0,0,0.40,1\n";
    for (int i = 1; i <= 200; ++i)
      out << i << ",train," << 0.05 / (1.0 + i / 50.0) << ",0,0,0,0,0,,1\n";
    out << "200,val,0.02,0.02,0,0,0,0,0.55,2\n";
  }
  const auto plot = renderTrainingCurves(log.string());
  int dims[3];
  plot->GetDimensions(dims);
  EXPECT_EQ(dims[0], 900);
  size_t blue = 0, green = 0;
  for (int y = 0; y < dims[1]; ++y)
    for (int x = 0; x < dims[0]; ++x)
    {
      const auto * p = static_cast<unsigned char *>(plot->GetScalarPointer(x, y, 0));
      blue += p[0] == 30 && p[1] == 90 && p[2] == 200;
      green += p[0] == 30 && p[1] == 150 && p[2] == 60;
    }
  EXPECT_GT(blue, 200u); // the training curve
  EXPECT_GT(green, 20u); // the Dice markers
  {
    std::ofstream(log) << "not,a,log\n";
  }
  EXPECT_THROW(renderTrainingCurves(log.string()), std::runtime_error);
  fs::remove(log);
}
