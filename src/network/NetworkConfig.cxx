#include "NetworkConfig.h"

#include "JsonValues.h"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace shmoareg {

namespace {
const std::vector<std::pair<EncoderKind, std::string>> kEncoderNames{ { EncoderKind::Convolutional, "cnn" },
                                                                      { EncoderKind::Swin, "swin" },
                                                                      { EncoderKind::SwinMoA, "swin_moa" } };
const std::vector<std::pair<DecoderKind, std::string>> kDecoderNames{ { DecoderKind::UShape, "ushape" },
                                                                      { DecoderKind::Pyramid, "pyramid" } };

template <typename TKind>
TKind
parseKind(const std::vector<std::pair<TKind, std::string>> & names, const std::string & text, const char * what)
{
  for (const auto & entry : names)
  {
    if (entry.second == text)
    {
      return entry.first;
    }
  }
  throw std::invalid_argument(std::string("unknown ") + what + " '" + text + "'");
}
} // namespace

std::string
toString(EncoderKind kind)
{
  for (const auto & entry : kEncoderNames)
  {
    if (entry.first == kind)
    {
      return entry.second;
    }
  }
  return "?";
}

std::string
toString(DecoderKind kind)
{
  for (const auto & entry : kDecoderNames)
  {
    if (entry.first == kind)
    {
      return entry.second;
    }
  }
  return "?";
}

int
NetworkConfig::encoderLevels() const
{
  if (encoder == EncoderKind::Convolutional)
  {
    return static_cast<int>(convEncoderChannels.size());
  }
  // Two convolutional levels (full and 1/2 resolution) below the Swin stages (1/4 ...).
  return 2 + static_cast<int>(depths.size());
}

std::vector<int>
NetworkConfig::encoderChannels() const
{
  if (encoder == EncoderKind::Convolutional)
  {
    return convEncoderChannels;
  }
  std::vector<int> channels{ 16, embedDim / 2 };
  for (size_t stage = 0; stage < depths.size(); ++stage)
  {
    channels.push_back(embedDim << stage);
  }
  return channels;
}

std::vector<int>
NetworkConfig::resolvedDecoderChannels() const
{
  if (!decoderChannels.empty())
  {
    return decoderChannels;
  }
  // Defaults: 16 at full resolution, 32 at 1/2, then the encoder's width capped at 96;
  // the cap keeps the coarse decoder blocks from dominating the parameter count.
  std::vector<int> channels;
  const std::vector<int> encoderWidths = encoderChannels();
  for (size_t level = 0; level < encoderWidths.size(); ++level)
  {
    if (level == 0)
    {
      channels.push_back(16);
    }
    else if (level == 1)
    {
      channels.push_back(32);
    }
    else
    {
      channels.push_back(std::min(encoderWidths[level], 96));
    }
  }
  return channels;
}

void
NetworkConfig::validate() const
{
  auto fail = [](const std::string & message) {
    throw std::invalid_argument("invalid network configuration: " + message);
  };
  if (cascades < 1)
    fail("cascades must be >= 1");
  if (integrationSteps < 0 || integrationSteps > 20)
    fail("integrationSteps must be in [0, 20]");
  if (inChannels < 1)
    fail("inChannels must be >= 1");
  if (encoder != EncoderKind::Convolutional)
  {
    if (depths.empty() || depths.size() != heads.size())
      fail("depths and heads must be non-empty and of equal length");
    if (patchSize < 1 || patchSize % 2 != 0)
      fail("patchSize must be a positive even number");
    if (embedDim < 2 || embedDim % 2 != 0)
      fail("embedDim must be a positive even number");
    for (int w : window)
      if (w < 1)
        fail("window sizes must be >= 1");
    for (size_t stage = 0; stage < heads.size(); ++stage)
    {
      const int width = embedDim << stage;
      const int headCount = encoder == EncoderKind::SwinMoA ? moaTopK : heads[stage];
      if (headCount < 1 || width % headCount != 0)
        fail("stage " + std::to_string(stage) + " width " + std::to_string(width) + " is not divisible by its " +
             std::to_string(headCount) + " heads");
    }
    if (encoder == EncoderKind::SwinMoA && (moaTopK < 1 || moaTopK > moaExperts))
      fail("MoA needs 1 <= moaTopK <= moaExperts");
  }
  else if (convEncoderChannels.size() < 2)
  {
    fail("convEncoderChannels needs at least two levels");
  }
  if (!decoderChannels.empty() && static_cast<int>(decoderChannels.size()) != encoderLevels())
    fail("decoderChannels needs one entry per encoder level (" + std::to_string(encoderLevels()) + ")");
  if (spatialHeterogeneousMoE && expertKernels.size() < 2)
    fail("SHMoE needs at least two expert kernels");
  for (int k : expertKernels)
    if (k < 1 || k % 2 == 0)
      fail("expert kernels must be odd and positive");
  if (dropPath < 0.0 || dropPath >= 1.0)
    fail("dropPath must be in [0, 1)");
}

std::string
NetworkConfig::toJson() const
{
  nlohmann::ordered_json j;
  j["preset"] = preset;
  j["encoder"] = toString(encoder);
  j["decoder"] = toString(decoder);
  j["shmoe"] = spatialHeterogeneousMoE;
  j["cascades"] = cascades;
  j["diffeomorphic"] = diffeomorphic;
  j["integration_steps"] = integrationSteps;
  j["patch_size"] = patchSize;
  j["embed_dim"] = embedDim;
  j["depths"] = depths;
  j["heads"] = heads;
  j["window"] = window;
  j["mlp_ratio"] = mlpRatio;
  j["drop_path"] = dropPath;
  j["moa_experts"] = moaExperts;
  j["moa_top_k"] = moaTopK;
  j["conv_encoder_channels"] = convEncoderChannels;
  j["decoder_channels"] = decoderChannels;
  j["expert_kernels"] = expertKernels;
  j["in_channels"] = inChannels;
  return j.dump(2);
}

NetworkConfig
NetworkConfig::fromJson(const std::string & text)
{
  nlohmann::json j;
  try
  {
    j = nlohmann::json::parse(text);
  }
  catch (const nlohmann::json::exception & error)
  {
    throw std::invalid_argument(std::string("network configuration is not valid JSON: ") + error.what());
  }
  if (!j.is_object())
    throw std::invalid_argument("network configuration must be a JSON object");
  // Start from the named preset (if any), then apply every field present.
  NetworkConfig c;
  if (j.contains("preset"))
  {
    const std::string name = j.at("preset").get<std::string>();
    const auto names = presetNames();
    if (std::find(names.begin(), names.end(), name) != names.end())
      c = makePreset(name);
    c.preset = name;
  }
  try
  {
    for (auto it = j.begin(); it != j.end(); ++it)
    {
      const std::string & key = it.key();
      const auto & v = it.value();
      if (key == "preset")
        continue;
      else if (key == "encoder")
        c.encoder = parseKind(kEncoderNames, v.get<std::string>(), "encoder");
      else if (key == "decoder")
        c.decoder = parseKind(kDecoderNames, v.get<std::string>(), "decoder");
      else if (key == "shmoe")
        c.spatialHeterogeneousMoE = v.get<bool>();
      else if (key == "cascades")
        c.cascades = jsonInteger<int>(v, key);
      else if (key == "diffeomorphic")
        c.diffeomorphic = v.get<bool>();
      else if (key == "integration_steps")
        c.integrationSteps = jsonInteger<int>(v, key);
      else if (key == "patch_size")
        c.patchSize = jsonInteger<int>(v, key);
      else if (key == "embed_dim")
        c.embedDim = jsonInteger<int>(v, key);
      else if (key == "depths")
        c.depths = jsonIntegerList<int>(v, key);
      else if (key == "heads")
        c.heads = jsonIntegerList<int>(v, key);
      else if (key == "window")
        c.window = jsonIntegerArray<int, 3>(v, key);
      else if (key == "mlp_ratio")
        c.mlpRatio = jsonNumber(v, key);
      else if (key == "drop_path")
        c.dropPath = jsonNumber(v, key);
      else if (key == "moa_experts")
        c.moaExperts = jsonInteger<int>(v, key);
      else if (key == "moa_top_k")
        c.moaTopK = jsonInteger<int>(v, key);
      else if (key == "conv_encoder_channels")
        c.convEncoderChannels = jsonIntegerList<int>(v, key);
      else if (key == "decoder_channels")
        c.decoderChannels = jsonIntegerList<int>(v, key);
      else if (key == "expert_kernels")
        c.expertKernels = jsonIntegerList<int>(v, key);
      else if (key == "in_channels")
        c.inChannels = jsonInteger<int>(v, key);
      else
        throw std::invalid_argument("unknown network configuration field '" + key + "'");
    }
  }
  catch (const nlohmann::json::exception & error)
  {
    throw std::invalid_argument(std::string("network configuration has a field of the wrong type: ") + error.what());
  }
  c.validate();
  return c;
}

bool
NetworkConfig::operator==(const NetworkConfig & o) const
{
  return toJson() == o.toJson();
}

std::vector<std::string>
presetNames()
{
  return { "VM", "TM", "2casVM", "2casTM", "Pyramid", "SHMoAReg", "SHMoAReg_diff" };
}

NetworkConfig
makePreset(const std::string & name)
{
  NetworkConfig c;
  c.preset = name;
  if (name == "VM" || name == "2casVM")
  {
    c.encoder = EncoderKind::Convolutional;
    c.decoder = DecoderKind::UShape;
    c.spatialHeterogeneousMoE = false;
    c.decoderChannels = { 16, 32, 32, 32, 32 };
    c.cascades = name == "VM" ? 1 : 2;
  }
  else if (name == "TM" || name == "2casTM")
  {
    c.encoder = EncoderKind::Swin;
    c.decoder = DecoderKind::UShape;
    c.spatialHeterogeneousMoE = false;
    // TransMorph's decoder widths: 16 at full, C/2 at 1/2, then C, 2C, 4C, 8C.
    c.decoderChannels = { 16, 24, 48, 96, 192, 384 };
    c.cascades = name == "TM" ? 1 : 2;
  }
  else if (name == "Pyramid")
  {
    // The pyramid baseline: SHMoAReg's dual Swin encoder and pyramid decoder without MoE.
    c.encoder = EncoderKind::Swin;
    c.decoder = DecoderKind::Pyramid;
    c.spatialHeterogeneousMoE = false;
  }
  else if (name == "SHMoAReg" || name == "SHMoAReg_diff")
  {
    c.encoder = EncoderKind::SwinMoA;
    c.decoder = DecoderKind::Pyramid;
    c.spatialHeterogeneousMoE = true;
    c.diffeomorphic = name == "SHMoAReg_diff";
  }
  else
  {
    std::string known;
    for (const auto & n : presetNames())
      known += (known.empty() ? "" : ", ") + n;
    throw std::invalid_argument("unknown preset '" + name + "' (known: " + known + ")");
  }
  c.validate();
  return c;
}

} // namespace shmoareg
