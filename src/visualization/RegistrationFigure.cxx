#include "RegistrationFigure.h"

#include "itkJacobianDeterminantFoldingImageFilter.h"

#include "itkNearestNeighborInterpolateImageFunction.h"
#include "itkResampleImageFilter.h"
#include "itkWarpImageFilter.h"

#include <vtkFreeTypeTools.h>
#include <vtkStdString.h>
#include <vtkPNGWriter.h>
#include <vtkTextProperty.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>

namespace shmoareg::visualization {

namespace {
using Rgb = std::array<unsigned char, 3>;

// An RGB raster with row 0 at the top.
struct Raster
{
  int width = 0, height = 0;
  std::vector<unsigned char> pixels;
  Raster(int w, int h, Rgb fill = { 0, 0, 0 })
    : width(w)
    , height(h)
    , pixels(static_cast<size_t>(3 * w * h))
  {
    for (int i = 0; i < w * h; ++i)
      std::copy(fill.begin(), fill.end(), pixels.begin() + 3 * i);
  }
  void
  set(int x, int y, const Rgb & c)
  {
    if (x < 0 || y < 0 || x >= width || y >= height)
      return;
    std::copy(c.begin(), c.end(), pixels.begin() + 3 * (static_cast<size_t>(y) * width + x));
  }
  void
  paste(const Raster & other, int x0, int y0)
  {
    for (int y = 0; y < other.height; ++y)
      for (int x = 0; x < other.width; ++x)
      {
        const unsigned char * c = &other.pixels[3 * (static_cast<size_t>(y) * other.width + x)];
        set(x0 + x, y0 + y, { c[0], c[1], c[2] });
      }
  }
};

// A 2D slice of a fixed-grid volume: values[row][column] with physical pixel sizes.
struct Slice
{
  int columns = 0, rows = 0;
  double columnSpacing = 1, rowSpacing = 1;
  std::vector<double> values; // row-major, row 0 = the top of the display
  double
  at(int column, int row) const
  {
    return values[static_cast<size_t>(row) * columns + column];
  }
};

// orientation 0: axial (plane i-j at the middle k), 1: coronal (i-k), 2: sagittal (j-k). The
// vertical display axis runs from the highest index at the top.
template <typename TImage, typename TValue>
Slice
extractSlice(const TImage * image, int orientation, TValue value)
{
  const auto size = image->GetLargestPossibleRegion().GetSize();
  const auto start = image->GetLargestPossibleRegion().GetIndex();
  const int horizontal = orientation == 2 ? 1 : 0;
  const int vertical = orientation == 0 ? 1 : 2;
  const int normal = 3 - horizontal - vertical;
  Slice slice;
  slice.columns = static_cast<int>(size[horizontal]);
  slice.rows = static_cast<int>(size[vertical]);
  slice.columnSpacing = image->GetSpacing()[horizontal];
  slice.rowSpacing = image->GetSpacing()[vertical];
  slice.values.resize(static_cast<size_t>(slice.columns) * slice.rows);
  typename TImage::IndexType index = start;
  index[normal] = start[normal] + static_cast<itk::IndexValueType>(size[normal] / 2);
  for (int r = 0; r < slice.rows; ++r)
    for (int c = 0; c < slice.columns; ++c)
    {
      index[horizontal] = start[horizontal] + c;
      index[vertical] = start[vertical] + (slice.rows - 1 - r);
      slice.values[static_cast<size_t>(r) * slice.columns + c] = value(image->GetPixel(index));
    }
  return slice;
}

template <typename TImage>
Slice
extractScalarSlice(const TImage * image, int orientation)
{
  return extractSlice(image, orientation, [](typename TImage::PixelType v) { return static_cast<double>(v); });
}

// Maps a slice onto a square panel (aspect kept, nearest neighbour, letterboxed).
template <typename TColour>
Raster
paint(const Slice & slice, int panel, TColour colour)
{
  Raster raster(panel, panel, { 0, 0, 0 });
  const double widthMm = slice.columns * slice.columnSpacing, heightMm = slice.rows * slice.rowSpacing;
  const double scale = panel / std::max(widthMm, heightMm); // pixels per mm
  const int w = static_cast<int>(widthMm * scale), h = static_cast<int>(heightMm * scale);
  const int x0 = (panel - w) / 2, y0 = (panel - h) / 2;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
    {
      const int c = std::min(slice.columns - 1, static_cast<int>((x + 0.5) / scale / slice.columnSpacing));
      const int r = std::min(slice.rows - 1, static_cast<int>((y + 0.5) / scale / slice.rowSpacing));
      raster.set(x0 + x, y0 + y, colour(slice, c, r));
    }
  return raster;
}

// Display range of an image: its 1st and 99th percentiles.
std::pair<double, double>
displayRange(const ImageType * image)
{
  const float * v = image->GetBufferPointer();
  std::vector<float> sorted(v, v + image->GetBufferedRegion().GetNumberOfPixels());
  std::sort(sorted.begin(), sorted.end());
  const double low = sorted[sorted.size() / 100], high = sorted[sorted.size() * 99 / 100];
  return { low, high > low ? high : low + 1.0 };
}

Rgb
labelColour(double label)
{
  // A fixed, well-spread hue per label.
  const double hue = std::fmod(static_cast<double>(label) * 0.61803398875, 1.0) * 6.0;
  const double x = 1.0 - std::abs(std::fmod(hue, 2.0) - 1.0);
  const double rgb[6][3] = { { 1, x, 0 }, { x, 1, 0 }, { 0, 1, x }, { 0, x, 1 }, { x, 0, 1 }, { 1, 0, x } };
  const auto & c = rgb[static_cast<int>(hue) % 6];
  return { static_cast<unsigned char>(255 * c[0]),
           static_cast<unsigned char>(255 * c[1]),
           static_cast<unsigned char>(255 * c[2]) };
}

// Grey image with the boundaries of the labels drawn in their colours.
Raster
paintWithContours(const Slice & image, const Slice * labels, std::pair<double, double> range, int panel)
{
  return paint(image, panel, [&](const Slice & s, int c, int r) -> Rgb {
    if (labels)
    {
      const double l = labels->at(c, r);
      if (l != 0.0)
      {
        const bool edge = (c > 0 && labels->at(c - 1, r) != l) || (c + 1 < s.columns && labels->at(c + 1, r) != l) ||
                          (r > 0 && labels->at(c, r - 1) != l) || (r + 1 < s.rows && labels->at(c, r + 1) != l);
        if (edge)
          return labelColour(l);
      }
    }
    const double g = std::clamp((s.at(c, r) - range.first) / (range.second - range.first), 0.0, 1.0);
    const auto v = static_cast<unsigned char>(255.0 * g);
    return { v, v, v };
  });
}

// The Jacobian determinant's colour: folded (det J <= 0) yellow; otherwise log2(det J) in
// [-1, 1]: blue (contraction) - white - red (expansion).
Rgb
jacobianColour(double determinant)
{
  if (determinant <= 0.0)
    return { 255, 230, 0 };
  const double t = std::clamp(std::log2(determinant), -1.0, 1.0);
  const auto fade = static_cast<unsigned char>(255.0 * (1.0 - std::abs(t)));
  return t < 0 ? Rgb{ fade, fade, 255 } : Rgb{ 255, fade, fade };
}

// Expert maps past the network grid's box (the model's training field of view, smaller than
// the image): no expert chose there; drawn grey.
constexpr unsigned char kOutsideTheNetworkGrid = 255;

// The paper's colours: red, white, blue for experts 0, 1, 2 (kernels 1, 3, 5); grey: none.
Rgb
expertColour(int expert)
{
  switch (expert)
  {
    case 0:
      return { 220, 40, 40 };
    case 1:
      return { 245, 245, 245 };
    case 2:
      return { 40, 70, 220 };
    default:
      return { 90, 90, 90 };
  }
}

Raster
paintJacobian(const Slice & determinant, int panel)
{
  return paint(determinant, panel, [](const Slice & s, int c, int r) { return jacobianColour(s.at(c, r)); });
}

Raster
paintExperts(const Slice & experts, int panel)
{
  return paint(
    experts, panel, [](const Slice & s, int c, int r) { return expertColour(static_cast<int>(s.at(c, r))); });
}

Raster
text(const std::string & words, int size, int width, int height, Rgb colour = { 230, 230, 230 })
{
  Raster raster(width, height, { 0, 0, 0 });
  auto property = vtkSmartPointer<vtkTextProperty>::New();
  property->SetFontFamilyToArial();
  property->SetFontSize(size);
  property->SetColor(colour[0] / 255.0, colour[1] / 255.0, colour[2] / 255.0);
  property->SetBackgroundOpacity(0.0);
  auto rendered = vtkSmartPointer<vtkImageData>::New();
  int extent[2] = { 0, 0 };
  if (!vtkFreeTypeTools::GetInstance()->RenderString(property, vtkStdString(words), 72, rendered.GetPointer(), extent))
    return raster;
  int dims[3];
  rendered->GetDimensions(dims);
  const int components = rendered->GetNumberOfScalarComponents();
  const int x0 = std::max(0, (width - extent[0]) / 2), y0 = std::max(0, (height - extent[1]) / 2);
  for (int y = 0; y < std::min(dims[1], height); ++y)
    for (int x = 0; x < std::min(dims[0], width); ++x)
    {
      auto * p = static_cast<unsigned char *>(rendered->GetScalarPointer(x, y, 0));
      const double alpha = components == 4 ? p[3] / 255.0 : 1.0;
      if (alpha <= 0.0)
        continue;
      // VTK's rows grow upwards.
      raster.set(x0 + x,
                 y0 + (dims[1] - 1 - y) - (dims[1] - extent[1]),
                 { static_cast<unsigned char>(p[0] * alpha),
                   static_cast<unsigned char>(p[1] * alpha),
                   static_cast<unsigned char>(p[2] * alpha) });
    }
  return raster;
}

// The legend under the Jacobian column: a colour bar over det J in [0.5, 2] (log scale) with
// its range, and the folded colour.
Raster
jacobianLegend(int width, int height)
{
  Raster legend(width, height, { 0, 0, 0 });
  const int barLeft = 8, barRight = width - 8, barTop = 4, barHeight = 10;
  for (int x = barLeft; x < barRight; ++x)
  {
    const double t = -1.0 + 2.0 * (x - barLeft) / std::max(1, barRight - barLeft - 1);
    for (int y = barTop; y < barTop + barHeight; ++y)
      legend.set(x, y, jacobianColour(std::exp2(t)));
  }
  legend.paste(text("0.5", 11, 30, 16), barLeft - 4, barTop + barHeight + 1);
  legend.paste(text("1", 11, 16, 16), (barLeft + barRight) / 2 - 4, barTop + barHeight + 1);
  legend.paste(text("2", 11, 16, 16), barRight - 10, barTop + barHeight + 1);
  Raster folded(10, 10, jacobianColour(0.0));
  legend.paste(folded, barLeft, barTop + barHeight + 20);
  legend.paste(text("det J <= 0 (folded)", 11, width - barLeft - 14, 16), barLeft + 14, barTop + barHeight + 17);
  return legend;
}

// The legend under the expert columns: each expert's colour and kernel size.
Raster
expertLegend(int width, int height, int experts)
{
  Raster legend(width, height, { 0, 0, 0 });
  const int kernels[3] = { 1, 3, 5 };
  for (int e = 0; e < std::min(experts, 3); ++e)
  {
    const int x = 8 + e * (width / std::min(experts, 3));
    legend.paste(Raster(12, 12, expertColour(e)), x, 6);
    legend.paste(text("kernel " + std::to_string(kernels[e]) + "^3", 11, 70, 16), x + 16, 4);
  }
  legend.paste(Raster(12, 12, expertColour(kOutsideTheNetworkGrid)), 8, 26);
  legend.paste(text("outside the network's box", 11, 200, 16), 24, 24);
  return legend;
}

template <typename TImage>
typename TImage::Pointer
onFixedGrid(const TImage * image,
            const ImageType * fixed,
            bool nearest,
            typename TImage::PixelType outside = typename TImage::PixelType())
{
  auto resample = itk::ResampleImageFilter<TImage, TImage>::New();
  resample->SetInput(image);
  resample->SetDefaultPixelValue(outside);
  resample->SetOutputParametersFromImage(fixed);
  if (nearest)
    resample->SetInterpolator(itk::NearestNeighborInterpolateImageFunction<TImage, double>::New());
  resample->Update();
  return resample->GetOutput();
}

vtkSmartPointer<vtkImageData>
toVtk(const Raster & raster)
{
  auto image = vtkSmartPointer<vtkImageData>::New();
  image->SetDimensions(raster.width, raster.height, 1);
  image->AllocateScalars(VTK_UNSIGNED_CHAR, 3);
  auto * out = static_cast<unsigned char *>(image->GetScalarPointer());
  for (int y = 0; y < raster.height; ++y) // VTK's row 0 is the bottom
    std::copy_n(&raster.pixels[3 * static_cast<size_t>(raster.height - 1 - y) * raster.width],
                3 * raster.width,
                out + 3 * static_cast<size_t>(y) * raster.width);
  return image;
}
} // namespace

vtkSmartPointer<vtkImageData>
renderRegistrationFigure(const RegistrationFigureInputs & in, const FigureOptions & options)
{
  if (!in.fixed || !in.moving || !in.warped || !in.field)
    throw std::invalid_argument("a registration figure needs the fixed, moving and warped images and the field");
  const int panel = options.panelSize;

  // Everything on the fixed grid.
  const auto moving = onFixedGrid(in.moving, in.fixed, false);
  const auto movingLabels = in.movingLabels ? onFixedGrid(in.movingLabels, in.fixed, true) : nullptr;
  auto jacobian = itk::JacobianDeterminantFoldingImageFilter<FieldType>::New();
  jacobian->SetInput(in.field);
  jacobian->Update();
  // The deformed grid of each orientation: sheets of a regular grid perpendicular to the two
  // in-plane axes (lines in the slice), on the fixed grid, warped by the field.
  auto deformedGrid = [&](int orientation) {
    const int horizontal = orientation == 2 ? 1 : 0;
    const int vertical = orientation == 0 ? 1 : 2;
    auto lines = ImageType::New();
    lines->CopyInformation(in.fixed);
    lines->SetRegions(in.fixed->GetLargestPossibleRegion());
    lines->Allocate();
    itk::ImageRegionIteratorWithIndex<ImageType> it(lines, lines->GetLargestPossibleRegion());
    for (; !it.IsAtEnd(); ++it)
    {
      const bool onLine = it.GetIndex()[horizontal] % options.gridSpacingVoxels == 0 ||
                          it.GetIndex()[vertical] % options.gridSpacingVoxels == 0;
      it.Set(onLine ? 1.0f : 0.0f);
    }
    auto warpLines = itk::WarpImageFilter<ImageType, ImageType, FieldType>::New();
    warpLines->SetInput(lines);
    warpLines->SetDisplacementField(in.field);
    warpLines->SetOutputParametersFromImage(in.fixed);
    warpLines->Update();
    return ImageType::Pointer(warpLines->GetOutput());
  };
  std::vector<ExpertMapType::Pointer> experts;
  for (const auto * map : in.expertMaps)
    experts.push_back(onFixedGrid(map, in.fixed, true, kOutsideTheNetworkGrid));

  std::vector<std::string> titles{ "fixed", "moving", "warped", "deformed grid", "Jacobian det" };
  const char * axes[3] = { "experts i", "experts j", "experts k" };
  for (size_t d = 0; d < experts.size(); ++d)
    titles.emplace_back(axes[d]);
  const char * orientations[3] = { "axial", "coronal", "sagittal" };
  const int header = 28, margin = 70, gap = 4, legendHeight = 48;
  const int columns = static_cast<int>(titles.size());
  Raster figure(margin + columns * (panel + gap), header + 3 * (panel + gap) + legendHeight, { 0, 0, 0 });
  for (int c = 0; c < columns; ++c)
    figure.paste(text(titles[c], 15, panel, header), margin + c * (panel + gap), 0);

  const auto fixedRange = displayRange(in.fixed), movingRange = displayRange(moving);
  for (int o = 0; o < 3; ++o)
  {
    const int y = header + o * (panel + gap);
    figure.paste(text(orientations[o], 14, margin, panel), 0, y);
    const Slice fixedLabels = in.fixedLabels ? extractScalarSlice(in.fixedLabels, o) : Slice();
    const Slice movingLabelSlice = movingLabels ? extractScalarSlice(movingLabels.GetPointer(), o) : Slice();
    const Slice warpedLabels = in.warpedLabels ? extractScalarSlice(in.warpedLabels, o) : Slice();
    std::vector<Raster> row;
    row.push_back(
      paintWithContours(extractScalarSlice(in.fixed, o), in.fixedLabels ? &fixedLabels : nullptr, fixedRange, panel));
    row.push_back(paintWithContours(
      extractScalarSlice(moving.GetPointer(), o), movingLabels ? &movingLabelSlice : nullptr, movingRange, panel));
    row.push_back(paintWithContours(
      extractScalarSlice(in.warped, o), in.warpedLabels ? &warpedLabels : nullptr, movingRange, panel));
    row.push_back(paintWithContours(extractScalarSlice(deformedGrid(o).GetPointer(), o), nullptr, { 0.0, 0.6 }, panel));
    row.push_back(paintJacobian(extractScalarSlice(jacobian->GetOutput(), o), panel));
    for (const auto & map : experts)
      row.push_back(paintExperts(extractScalarSlice(map.GetPointer(), o), panel));
    for (int c = 0; c < columns; ++c)
      figure.paste(row[c], margin + c * (panel + gap), y);
  }
  const int legendTop = header + 3 * (panel + gap);
  figure.paste(jacobianLegend(panel, legendHeight), margin + 4 * (panel + gap), legendTop);
  if (!experts.empty())
  {
    const int count = static_cast<int>(experts.size());
    figure.paste(expertLegend(count * (panel + gap) - gap, legendHeight, count), margin + 5 * (panel + gap), legendTop);
  }
  return toVtk(figure);
}

void
writePng(vtkImageData * image, const std::string & path)
{
  const std::string temporary = path + ".partial.png";
  auto writer = vtkSmartPointer<vtkPNGWriter>::New();
  writer->SetFileName(temporary.c_str());
  writer->SetInputData(image);
  writer->Write();
  if (writer->GetErrorCode() != 0 || !std::filesystem::exists(temporary))
  {
    std::remove(temporary.c_str());
    throw std::runtime_error("cannot write the PNG '" + path + "'");
  }
  std::filesystem::rename(temporary, path);
}

vtkSmartPointer<vtkImageData>
renderTrainingCurves(const std::string & logCsv, int width, int height)
{
  std::ifstream in(logCsv);
  if (!in)
    throw std::runtime_error("cannot read the training log '" + logCsv + "'");
  std::string line;
  std::getline(in, line);
  if (line.rfind("iteration,split,total", 0) != 0)
    throw std::runtime_error("'" + logCsv + "' is not a shmoareg training log (header " + line + ")");
  std::vector<std::pair<double, double>> train, validation, dice;
  for (int number = 2; std::getline(in, line); ++number)
  {
    std::vector<std::string> f;
    std::stringstream stream(line);
    for (std::string field; std::getline(stream, field, ',');)
      f.push_back(field);
    if (f.size() < 9)
      throw std::runtime_error("'" + logCsv + "' line " + std::to_string(number) + " has " + std::to_string(f.size()) +
                               " fields");
    const double iteration = std::stod(f[0]), total = std::stod(f[2]);
    if (f[1] == "train")
      train.emplace_back(iteration, total);
    else
    {
      validation.emplace_back(iteration, total);
      if (!f[8].empty())
        dice.emplace_back(iteration, std::stod(f[8]));
    }
  }
  if (train.empty() && validation.empty())
    throw std::runtime_error("'" + logCsv + "' holds no iterations");
  // Running mean of the training loss over 20 iterations.
  std::vector<std::pair<double, double>> smooth;
  double sum = 0.0;
  for (size_t i = 0; i < train.size(); ++i)
  {
    sum += train[i].second - (i >= 20 ? train[i - 20].second : 0.0);
    smooth.emplace_back(train[i].first, sum / std::min<size_t>(i + 1, 20));
  }

  Raster figure(width, height, { 255, 255, 255 });
  const int plots = dice.empty() ? 1 : 2;
  const int left = 60, top = 30, bottom = 40, plotWidth = (width - left - 20 * plots) / plots - 30;
  const int plotHeight = height - top - bottom;
  auto drawPlot = [&](int x0,
                      const std::string & title,
                      const std::vector<std::pair<const std::vector<std::pair<double, double>> *, Rgb>> & series) {
    double xMax = 1, yMin = 1e300, yMax = -1e300;
    for (const auto & s : series)
      for (const auto & p : *s.first)
      {
        xMax = std::max(xMax, p.first);
        yMin = std::min(yMin, p.second);
        yMax = std::max(yMax, p.second);
      }
    if (yMax <= yMin)
      yMax = yMin + 1.0;
    const Rgb axis{ 0, 0, 0 };
    for (int x = 0; x <= plotWidth; ++x)
      figure.set(x0 + x, top + plotHeight, axis);
    for (int y = 0; y <= plotHeight; ++y)
      figure.set(x0, top + y, axis);
    auto px = [&](double x) { return x0 + static_cast<int>(x / xMax * plotWidth); };
    auto py = [&](double y) { return top + plotHeight - static_cast<int>((y - yMin) / (yMax - yMin) * plotHeight); };
    for (const auto & s : series)
    {
      const auto & points = *s.first;
      for (size_t i = 0; i < points.size(); ++i)
      {
        // Segments by sampling between consecutive points; markers for sparse series.
        const int xa = px(points[i].first), ya = py(points[i].second);
        if (points.size() < 50)
          for (int dy = -2; dy <= 2; ++dy)
            for (int dx = -2; dx <= 2; ++dx)
              figure.set(xa + dx, ya + dy, s.second);
        if (i + 1 < points.size())
        {
          const int xb = px(points[i + 1].first), yb = py(points[i + 1].second);
          const int steps = std::max({ 1, std::abs(xb - xa), std::abs(yb - ya) });
          for (int k = 0; k <= steps; ++k)
            figure.set(xa + (xb - xa) * k / steps, ya + (yb - ya) * k / steps, s.second);
        }
      }
    }
    auto label = [](double v) {
      std::ostringstream out;
      out.precision(3);
      out << v;
      return out.str();
    };
    figure.paste(text(title, 14, plotWidth, 24, { 0, 0, 0 }), x0, 4);
    figure.paste(text(label(yMax), 11, 55, 16, { 0, 0, 0 }), x0 - 58, top - 8);
    figure.paste(text(label(yMin), 11, 55, 16, { 0, 0, 0 }), x0 - 58, top + plotHeight - 8);
    figure.paste(
      text("iteration " + label(xMax), 11, 140, 16, { 0, 0, 0 }), x0 + plotWidth - 140, top + plotHeight + 8);
  };
  const Rgb blue{ 30, 90, 200 }, orange{ 230, 120, 20 }, green{ 30, 150, 60 };
  drawPlot(
    left, "loss: training (mean of 20, blue), validation (orange)", { { &smooth, blue }, { &validation, orange } });
  if (!dice.empty())
    drawPlot(left + plotWidth + 60, "validation Dice", { { &dice, green } });
  return toVtk(figure);
}

} // namespace shmoareg::visualization
