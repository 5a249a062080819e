// The paper's Table I for a model on a dataset's test pairs, scored in physical space by the
// module's own filters: SHMoARegistrationFilter registers each ordered pair, the fixed labels are
// compared with the warped moving labels (Dice, ASSD) and the field's folding is counted.
#ifndef shmoareg_Evaluation_h
#define shmoareg_Evaluation_h

#include "Dataset.h"
#include "itkSHMoARegModel.h"

#include <ostream>

namespace shmoareg::training {

struct PairScore
{
  std::string moving;
  std::string fixed;
  double dice = 0;    // mean over labels, in [0, 1]
  double assd = 0;    // mean over labels, mm
  double folding = 0; // % of voxels with det J <= 0
  double seconds = 0;
};

struct MethodScores
{
  std::string method;
  double parametersMillions = 0; // 0 for identity
  std::vector<PairScore> pairs;
};

// Moving labels onto the fixed labels' grid through a physical displacement field on the
// fixed grid (x -> x + u(x), nearest neighbour), or resampled as they lie when field is null.
LabelImageType::Pointer
warpLabels(const LabelImageType * movingLabels,
           const LabelImageType * fixedLabels,
           const DisplacementFieldType * field);

using MaskImageType = itk::SHMoARegImageTypes::MaskImageType;

// One pair's Table I numbers: mean Dice and ASSD of the warped against the fixed labels, and the
// field's folding (0 without a field). `seconds` is left 0 for the caller. With a fixed mask
// (non-zero inside; any grid in the fixed space) only the voxels inside it count: labels outside
// are taken as background and folding is counted inside; a mask that misses the fixed labels'
// grid is an error.
PairScore
scoreRegistration(const LabelImageType * fixedLabels,
                  const LabelImageType * movingLabels,
                  const DisplacementFieldType * field,
                  const MaskImageType * fixedMask = nullptr);

// The mean end-point error (mm) of `field` (null: the identity) against a synthetic pair's
// true field x -> y + movingFromAtlas(y), y = x + fixedToAtlas(x) (Subject::toAtlas / fromAtlas
// of the fixed and the moving subject), over the fixed voxels with a non-zero label; all fields
// are sampled linearly in physical space. Throws if no labelled voxel maps inside the fields.
double
endPointError(const LabelImageType * fixedLabels,
              const DisplacementFieldType * field,
              const DisplacementFieldType * fixedToAtlas,
              const DisplacementFieldType * movingFromAtlas);

// model == nullptr scores the identity (the moving labels resampled onto the fixed grid).
MethodScores
evaluateOnTestPairs(const std::string & method,
                    itk::SHMoARegModel * model,
                    const DatasetManifest & manifest,
                    unsigned int gridSize, // 0: the filter's choice (the model's training voxel size)
                    std::ostream & log);

// Table I's columns: DSC mean +- std (%), ASSD mean +- std (mm), % |J| <= 0, s per pair, params (M).
std::string
scoresToMarkdown(const std::vector<MethodScores> & methods);
std::string
scoresToCsv(const std::vector<MethodScores> & methods);

} // namespace shmoareg::training

#endif
