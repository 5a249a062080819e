// Model files with known behaviour for the ITK-layer tests. The only test code that touches
// the network core; the tests themselves stay torch-free.
#ifndef SHMoARegTestModels_h
#define SHMoARegTestModels_h

#include <array>
#include <string>

namespace shmoareg_test {

// A small VM network whose field is the constant `voxelDisplacement`, given in ITK index
// order (i, j, k) in voxels of the network grid.
// `provenance` is the JSON the file carries (a trainer's record, e.g. "network_voxel_mm").
void
writeConstantDisplacementModel(const std::string & path,
                               const std::array<double, 3> & voxelDisplacement,
                               const std::string & provenance = "{\"test\": \"constant displacement\"}",
                               bool diffeomorphic = false);

// A small VM network with random (not near-zero) head weights: a non-trivial field.
void
writeRandomFieldModel(const std::string & path, unsigned int seed);

// A network configured for two channels per image.
void
writeTwoChannelModel(const std::string & path);

} // namespace shmoareg_test

#endif
