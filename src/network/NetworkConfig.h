// The one configuration type behind every network of the paper's comparison.
// VM, TM, 2casVM, 2casTM, the pyramid baseline, SHMoAReg and SHMoAReg_diff are presets
// of it (makePreset), not separate code.
#ifndef shmoareg_NetworkConfig_h
#define shmoareg_NetworkConfig_h

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace shmoareg {

enum class EncoderKind
{
  Convolutional, // VoxelMorph-like strided 3D convolutions
  Swin,          // TransMorph-like 3D Swin Transformer, multi-head self-attention
  SwinMoA        // the same Swin with every W-MSA/SW-MSA replaced by Mixture of Attention heads
};

enum class DecoderKind
{
  UShape, // single stream on the concatenated pair, U-Net decoder, one field at full resolution
  Pyramid // dual shared-weight streams, coarse-to-fine residual fields composed level by level
};

struct NetworkConfig
{
  std::string preset = "custom";
  EncoderKind encoder = EncoderKind::SwinMoA;
  DecoderKind decoder = DecoderKind::Pyramid;
  bool spatialHeterogeneousMoE = true; // SHMoE heads at full and 1/2 resolution
  int cascades = 1;
  bool diffeomorphic = false;
  int integrationSteps = 7; // scaling and squaring steps of the diffeomorphic variant

  // Swin encoder (TransMorph-small defaults).
  int patchSize = 4;
  int embedDim = 48;
  std::vector<int> depths{ 2, 2, 4, 2 };
  std::vector<int> heads{ 4, 4, 4, 4 };
  std::array<int, 3> window{ 5, 6, 7 }; // largest window; clipped per stage (docs/design.md)
  double mlpRatio = 4.0;
  double dropPath = 0.3;

  // Mixture of Attention heads: a pool of moaExperts heads per layer, each token uses the
  // top moaTopK of them (moaTopK plays the role of the Swin head count).
  int moaExperts = 8;
  int moaTopK = 4;

  // Convolutional encoder channels, full resolution first, each further level at 1/2.
  std::vector<int> convEncoderChannels{ 16, 32, 32, 32, 32 };
  // Decoder channels per level, full resolution first (one entry per encoder level).
  std::vector<int> decoderChannels;

  // SHMoE experts' kernel sizes.
  std::vector<int> expertKernels{ 1, 3, 5 };

  int inChannels = 1; // channels of each image

  // Number of feature levels the encoder produces (full resolution first).
  int
  encoderLevels() const;
  // Decoder channels, defaulted from the encoder when decoderChannels is empty.
  std::vector<int>
  resolvedDecoderChannels() const;
  // Feature channels of each encoder level for an encoder that sees inputChannels.
  std::vector<int>
  encoderChannels() const;

  // Throws std::invalid_argument naming the first inconsistent field.
  void
  validate() const;

  std::string
  toJson() const;
  static NetworkConfig
  fromJson(const std::string & json);

  bool
  operator==(const NetworkConfig & other) const;
  bool
  operator!=(const NetworkConfig & other) const
  {
    return !(*this == other);
  }
};

// Named presets: "VM", "TM", "2casVM", "2casTM", "Pyramid", "SHMoAReg", "SHMoAReg_diff".
std::vector<std::string>
presetNames();
NetworkConfig
makePreset(const std::string & name);

std::string
toString(EncoderKind kind);
std::string
toString(DecoderKind kind);

} // namespace shmoareg

#endif
