// shmoareg render: a registration as one PNG figure, and .vti files for ParaView.
#include "CliCommands.h"
#include "RegistrationFigure.h"
#include "RegistrationOptions.h"
#include "VtkImageConversion.h"

#include "itkJacobianDeterminantFoldingImageFilter.h"

#include <vtkDataArray.h>
#include <vtkPointData.h>

#include <iostream>

namespace shmoareg::cli {

int
renderCommand(int argc, char * argv[])
{
  ArgumentParser args("render",
                      "Registers a pair and renders one PNG figure: slices with label contours, the "
                      "deformed grid, the Jacobian and the expert maps; optionally .vti files for ParaView.");
  args.option("fixed", "IMAGE", "fixed image");
  args.option("moving", "IMAGE", "moving image");
  args.option("fixed-labels", "IMAGE", "fixed label map (contours)");
  args.option("moving-labels", "IMAGE", "moving label map (contours, warped)");
  args.option("output", "FILE.png", "the figure");
  args.option("vti-prefix", "PREFIX", "also write PREFIX_field.vti, PREFIX_jacobian.vti, PREFIX_experts.vti");
  addNetworkGridOptions(args, /*withFieldOfView=*/true);
  addRefinementOptions(args);
  addInitialTransformOption(args);
  args.option("fixed-mask", "IMAGE", "fixed mask (non-zero inside): restricts instance optimisation's similarity");
  args.option("moving-mask", "IMAGE", "moving mask (non-zero inside): restricts instance optimisation's similarity");
  args.option("panel", "PIXELS", "panel size (default 160)");
  addInputCheckOptions(args);
  addModelOptions(args);
  if (!args.parse(argc, argv, 2))
    return 0;
  args.require({ "fixed", "moving", "output" });
  const std::string vtiPrefix = args.get("vti-prefix", "");
  checkOutputFiles({ { "--output", args.get("output") },
                     { "--vti-prefix", vtiPrefix.empty() ? "" : vtiPrefix + "_field.vti" },
                     { "--vti-prefix", vtiPrefix.empty() ? "" : vtiPrefix + "_jacobian.vti" },
                     { "--vti-prefix", vtiPrefix.empty() ? "" : vtiPrefix + "_experts.vti" } },
                   registrationInputPaths(args));
  auto model = makeModel(args);
  const RegistrationInputs registrationInputs = readRegistrationInputs(args);
  const ImageType::Pointer fixed = registrationInputs.fixed;
  const ImageType::Pointer moving = registrationInputs.moving;
  const LabelImageType::Pointer fixedLabels = registrationInputs.fixedLabels;
  const LabelImageType::Pointer movingLabels = registrationInputs.movingLabels;
  const auto filter = registerPair(args, model, fixed, moving, movingLabels, false, readInitialTransform(args));

  visualization::RegistrationFigureInputs inputs;
  inputs.fixed = fixed;
  inputs.moving = moving;
  inputs.warped = filter->GetWarpedImage();
  inputs.field = filter->GetDisplacementField();
  inputs.fixedLabels = fixedLabels;
  inputs.movingLabels = movingLabels;
  inputs.warpedLabels = movingLabels ? filter->GetWarpedLabelImage() : nullptr;
  auto * source = filter->GetMoEDisplacementFieldSource();
  if (model->HasExpertMaps())
    for (unsigned d = 0; d < 3; ++d)
      inputs.expertMaps.push_back(source->GetExpertMap(d));
  visualization::FigureOptions options;
  options.panelSize = args.getInt("panel", 160);
  visualization::writePng(visualization::renderRegistrationFigure(inputs, options), args.get("output"));
  args.results() << "wrote " << args.get("output") << "\n";
  if (args.has("vti-prefix"))
  {
    const std::string prefix = args.get("vti-prefix");
    visualization::writeVti(visualization::toVtkImageData(filter->GetDisplacementField(), "displacement_mm"),
                            prefix + "_field.vti");
    auto jacobian = itk::JacobianDeterminantFoldingImageFilter<visualization::FieldType>::New();
    jacobian->SetInput(filter->GetDisplacementField());
    jacobian->Update();
    visualization::writeVti(visualization::toVtkImageData(jacobian->GetOutput(), "jacobian_determinant"),
                            prefix + "_jacobian.vti");
    if (model->HasExpertMaps())
    {
      auto experts = visualization::toVtkImageData(source->GetExpertMap(0), "experts_i");
      for (unsigned d = 1; d < 3; ++d)
      {
        auto more = visualization::toVtkImageData(source->GetExpertMap(d), d == 1 ? "experts_j" : "experts_k");
        experts->GetPointData()->AddArray(more->GetPointData()->GetScalars());
      }
      visualization::writeVti(experts, prefix + "_experts.vti");
    }
    args.results() << "wrote " << prefix << "_field.vti, " << prefix << "_jacobian.vti"
                   << (model->HasExpertMaps() ? ", " + prefix + "_experts.vti" : std::string()) << "\n";
  }
  return 0;
}

} // namespace shmoareg::cli
