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

// model == nullptr scores the identity (the moving labels resampled onto the fixed grid).
MethodScores
evaluateOnTestPairs(const std::string & method,
                    itk::SHMoARegModel * model,
                    const DatasetManifest & manifest,
                    unsigned int gridSize,
                    std::ostream & log);

// Table I's columns: DSC mean +- std (%), ASSD mean +- std (mm), % |J| <= 0, s per pair, params (M).
std::string
scoresToMarkdown(const std::vector<MethodScores> & methods);
std::string
scoresToCsv(const std::vector<MethodScores> & methods);

} // namespace shmoareg::training

#endif
