#include "Evaluation.h"

#include "itkAverageSymmetricSurfaceDistanceImageFilter.h"
#include "itkJacobianDeterminantFoldingImageFilter.h"
#include "itkLabelDiceCoefficientImageFilter.h"
#include "itkNearestNeighborInterpolateImageFunction.h"
#include "itkImageRegionConstIteratorWithIndex.h"
#include "itkResampleImageFilter.h"
#include "itkSHMoARegNetworkGrid.h"
#include "itkSHMoARegistrationFilter.h"
#include "itkVectorLinearInterpolateImageFunction.h"
#include "itkWarpImageFilter.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iomanip>
#include <sstream>

namespace shmoareg::training {

namespace {
std::pair<double, double>
meanStd(const std::vector<double> & values)
{
  if (values.empty())
    return { 0.0, 0.0 };
  double mean = 0.0;
  for (double v : values)
    mean += v / values.size();
  double variance = 0.0;
  for (double v : values)
    variance += (v - mean) * (v - mean) / values.size();
  return { mean, std::sqrt(variance) };
}

template <typename TGetter>
std::vector<double>
column(const MethodScores & m, TGetter get)
{
  std::vector<double> values;
  for (const auto & p : m.pairs)
    values.push_back(get(p));
  return values;
}
} // namespace

LabelImageType::Pointer
warpLabels(const LabelImageType * movingLabels, const LabelImageType * fixedLabels, const DisplacementFieldType * field)
{
  using Interpolator = itk::NearestNeighborInterpolateImageFunction<LabelImageType, double>;
  if (field == nullptr)
  {
    auto resample = itk::ResampleImageFilter<LabelImageType, LabelImageType>::New();
    resample->SetInput(movingLabels);
    resample->SetInterpolator(Interpolator::New());
    resample->SetOutputParametersFromImage(fixedLabels);
    resample->Update();
    return resample->GetOutput();
  }
  auto warp = itk::WarpImageFilter<LabelImageType, LabelImageType, DisplacementFieldType>::New();
  warp->SetInput(movingLabels);
  warp->SetDisplacementField(field);
  warp->SetInterpolator(Interpolator::New());
  warp->SetOutputParametersFromImage(fixedLabels);
  warp->SetEdgePaddingValue(0);
  warp->Update();
  return warp->GetOutput();
}

namespace {
// The mask on `grid`; an error when none of it lies there.
MaskImageType::Pointer
maskOnGrid(const MaskImageType * mask, const itk::ImageBase<3> * grid, const char * what)
{
  MaskImageType::Pointer onGrid = itk::SHMoARegNetworkGrid::MaskOnGrid<MaskImageType>(mask, grid);
  if (!onGrid)
    throw std::runtime_error(std::string("the fixed mask does not overlap the ") + what);
  return onGrid;
}

// A copy of `labels` with 0 wherever the mask (on the same grid) is 0.
LabelImageType::Pointer
keepInside(const LabelImageType * labels, const MaskImageType * mask)
{
  auto copy = LabelImageType::New();
  copy->CopyInformation(labels);
  copy->SetRegions(labels->GetLargestPossibleRegion());
  copy->Allocate();
  const size_t count = labels->GetBufferedRegion().GetNumberOfPixels();
  const auto * in = labels->GetBufferPointer();
  const unsigned char * inside = mask->GetBufferPointer();
  auto * out = copy->GetBufferPointer();
  for (size_t i = 0; i < count; ++i)
    out[i] = inside[i] ? in[i] : 0;
  return copy;
}
} // namespace

PairScore
scoreRegistration(const LabelImageType * fixedLabels,
                  const LabelImageType * movingLabels,
                  const DisplacementFieldType * field,
                  const MaskImageType * fixedMask)
{
  LabelImageType::ConstPointer warped = warpLabels(movingLabels, fixedLabels, field).GetPointer();
  LabelImageType::ConstPointer target = fixedLabels;
  if (fixedMask)
  {
    const auto inside = maskOnGrid(fixedMask, fixedLabels, "fixed labels");
    warped = keepInside(warped, inside).GetPointer();
    target = keepInside(fixedLabels, inside).GetPointer();
  }
  PairScore score;
  auto dice = itk::LabelDiceCoefficientImageFilter<LabelImageType>::New();
  dice->SetSourceImage(warped);
  dice->SetTargetImage(target);
  dice->Update();
  auto assd = itk::AverageSymmetricSurfaceDistanceImageFilter<LabelImageType>::New();
  assd->SetSourceImage(warped);
  assd->SetTargetImage(target);
  assd->Update();
  score.dice = dice->GetMeanDiceCoefficient();
  score.assd = assd->GetMeanAverageSymmetricSurfaceDistance();
  if (field)
  {
    auto jacobian = itk::JacobianDeterminantFoldingImageFilter<DisplacementFieldType>::New();
    jacobian->SetInput(field);
    MaskImageType::Pointer fieldMask;
    if (fixedMask)
    {
      fieldMask = maskOnGrid(fixedMask, field, "displacement field");
      jacobian->SetMaskImage(fieldMask);
    }
    jacobian->Update();
    score.folding = jacobian->GetFoldingPercentage();
  }
  return score;
}

double
endPointError(const LabelImageType * fixedLabels,
              const DisplacementFieldType * field,
              const DisplacementFieldType * fixedToAtlas,
              const DisplacementFieldType * movingFromAtlas)
{
  using InterpolatorType = itk::VectorLinearInterpolateImageFunction<DisplacementFieldType, double>;
  auto sampler = [](const DisplacementFieldType * f) {
    auto interpolator = InterpolatorType::New();
    interpolator->SetInputImage(f);
    return interpolator;
  };
  const auto estimated = field ? sampler(field) : InterpolatorType::Pointer();
  const auto toAtlas = sampler(fixedToAtlas);
  const auto fromAtlas = sampler(movingFromAtlas);
  double sum = 0.0;
  size_t count = 0;
  itk::ImageRegionConstIteratorWithIndex<LabelImageType> it(fixedLabels, fixedLabels->GetLargestPossibleRegion());
  for (; !it.IsAtEnd(); ++it)
  {
    if (it.Get() == 0)
      continue;
    itk::Point<double, 3> x;
    fixedLabels->TransformIndexToPhysicalPoint(it.GetIndex(), x);
    if (!toAtlas->IsInsideBuffer(x) || (estimated && !estimated->IsInsideBuffer(x)))
      continue;
    const auto t = toAtlas->Evaluate(x);
    itk::Point<double, 3> y;
    for (unsigned a = 0; a < 3; ++a)
      y[a] = x[a] + t[a];
    if (!fromAtlas->IsInsideBuffer(y))
      continue;
    const auto f = fromAtlas->Evaluate(y);
    const auto u = estimated ? estimated->Evaluate(x) : InterpolatorType::OutputType(0.0);
    double squared = 0.0;
    for (unsigned a = 0; a < 3; ++a)
    {
      const double truth = y[a] + f[a] - x[a];
      squared += (u[a] - truth) * (u[a] - truth);
    }
    sum += std::sqrt(squared);
    ++count;
  }
  if (count == 0)
    throw std::invalid_argument("end-point error: no labelled fixed voxel maps inside the known fields");
  return sum / static_cast<double>(count);
}

MethodScores
evaluateOnTestPairs(const std::string & method,
                    itk::SHMoARegModel * model,
                    const DatasetManifest & manifest,
                    unsigned int gridSize,
                    std::ostream & log)
{
  manifest.requireSplits({ "test" });
  std::vector<Subject> subjects;
  for (const auto & entry : manifest.split("test"))
  {
    subjects.push_back(loadSubject(entry));
    if (!subjects.back().labels)
      throw DatasetError("test subject '" + entry.id + "' has no label map: evaluation needs labels");
  }
  MethodScores scores;
  scores.method = method;
  scores.parametersMillions = model ? model->GetNumberOfParameters() / 1e6 : 0.0;
  using FilterType = itk::SHMoARegistrationFilter<ImageType, ImageType, DisplacementFieldType, LabelImageType>;
  for (size_t m = 0; m < subjects.size(); ++m)
  {
    for (size_t f = 0; f < subjects.size(); ++f)
    {
      if (m == f)
        continue;
      PairScore score;
      if (model)
      {
        auto filter = FilterType::New();
        filter->SetModel(model);
        filter->SetDevice(model->GetDevice());
        filter->SetFixedImage(subjects[f].image);
        filter->SetMovingImage(subjects[m].image);
        if (gridSize > 0)
        {
          FilterType::GridSizeType grid;
          grid.Fill(gridSize);
          filter->SetNetworkGridSize(grid);
        }
        const auto start = std::chrono::steady_clock::now();
        filter->Update();
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        score = scoreRegistration(subjects[f].labels, subjects[m].labels, filter->GetDisplacementField());
        score.seconds = seconds;
      }
      else
      {
        score = scoreRegistration(subjects[f].labels, subjects[m].labels, nullptr);
      }
      score.moving = subjects[m].id;
      score.fixed = subjects[f].id;
      log << method << ": " << score.moving << " -> " << score.fixed << ": Dice " << score.dice << ", ASSD "
          << score.assd << " mm, folding " << score.folding << "%, " << score.seconds << " s\n";
      scores.pairs.push_back(score);
    }
  }
  return scores;
}

std::string
scoresToMarkdown(const std::vector<MethodScores> & methods)
{
  std::ostringstream out;
  out << std::fixed;
  out << "| Method | DSC (%) | ASSD (mm) | % abs(J) <= 0 | Time (s) | Params (M) |\n"
      << "|---|---|---|---:|---:|---:|\n";
  for (const auto & m : methods)
  {
    const auto dice = meanStd(column(m, [](const PairScore & p) { return 100.0 * p.dice; }));
    const auto assd = meanStd(column(m, [](const PairScore & p) { return p.assd; }));
    const auto folding = meanStd(column(m, [](const PairScore & p) { return p.folding; }));
    const auto seconds = meanStd(column(m, [](const PairScore & p) { return p.seconds; }));
    out << "| " << m.method << " | " << std::setprecision(2) << dice.first << " ± " << dice.second << " | "
        << assd.first << " ± " << assd.second << " | " << std::setprecision(3) << folding.first << " | "
        << std::setprecision(2) << seconds.first << " | " << m.parametersMillions << " |\n";
  }
  return out.str();
}

std::string
scoresToCsv(const std::vector<MethodScores> & methods)
{
  std::ostringstream out;
  out << std::setprecision(8) << "method,moving,fixed,dice,assd_mm,folding_percent,seconds,params_millions\n";
  for (const auto & m : methods)
    for (const auto & p : m.pairs)
      out << m.method << "," << p.moving << "," << p.fixed << "," << p.dice << "," << p.assd << "," << p.folding << ","
          << p.seconds << "," << m.parametersMillions << "\n";
  return out.str();
}

} // namespace shmoareg::training
