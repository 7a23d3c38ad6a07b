#include "common/model/model_size.h"

#include <algorithm>
#include <string>

#include "common/model/dit_shape.h"
#include "common/proto/config.pb.h"
#include "common/util/memory.h"

namespace lockstep {
namespace {

uint64_t linear(uint64_t in, uint64_t out) { return in * out + out; }
uint64_t conv3(uint64_t in, uint64_t out) { return 9 * in * out + out; }
uint64_t group_norm(uint64_t c) { return 2 * c; }

uint64_t flow_map_features(const Config& cfg) {
  if (cfg.train().loss() != TrainConfig::TVM) return 0;
  const bool guidance = cfg.model().class_conditional() && cfg.train().tvm().guidance_max() > 1.0;
  return cfg.model().gap_embedding() * (guidance ? 2 : 1);
}

ModelSize mlp(const Config& cfg, uint64_t dim, uint64_t classes) {
  const MlpConfig& m = cfg.model().mlp();
  ModelSize s;
  uint64_t in = dim + m.time_embedding() + flow_map_features(cfg);
  if (cfg.model().class_conditional()) {
    s.parameters += (classes + 1) * m.class_embedding();
    in += m.class_embedding();
  }
  for (uint32_t i = 0; i < m.depth(); ++i) {
    s.parameters += linear(in, m.width());
    in = m.width();
  }
  s.parameters += linear(in, dim);
  s.activation_bytes_per_sample = 4 * (4 * uint64_t{m.depth()} * m.width() + 8 * dim);
  return s;
}

ModelSize unet(const Config& cfg, const std::vector<int64_t>& shape, uint64_t classes) {
  const UnetConfig& u = cfg.model().unet();
  std::vector<uint64_t> mult(u.channel_mult().begin(), u.channel_mult().end());
  if (mult.empty()) mult = {1, 2, 2};
  const uint64_t ch = u.channels(), emb = 4 * ch, in_ch = static_cast<uint64_t>(shape[0]);
  const uint64_t temb = u.time_embedding() > 0 ? u.time_embedding() : ch + ch % 2;
  uint64_t pixels = static_cast<uint64_t>(shape[1]) * static_cast<uint64_t>(shape[2]);
  ModelSize s;
  const bool checkpoint = cfg.model().checkpoint_activations();
  uint64_t largest_block = 0;  // checkpointing: the one block whose activations backward rebuilds at a time
  auto res_block = [&](uint64_t in, uint64_t out, uint64_t px) {
    s.parameters += group_norm(in) + conv3(in, out) + linear(emb, out) + group_norm(out) + conv3(out, out) + (in != out ? linear(in, out) : 0);
    const uint64_t whole = 4 * 8 * px * std::max(in, out);  // norms, activations, convolutions and their saved inputs
    s.activation_bytes_per_sample += checkpoint ? 4 * px * in : whole;
    largest_block = std::max(largest_block, whole);
  };
  s.parameters += linear(temb + flow_map_features(cfg), emb) + linear(emb, emb) + conv3(in_ch, ch);
  if (classes > 0 && cfg.model().class_conditional()) s.parameters += (classes + 1) * emb;
  std::vector<uint64_t> skips = {ch};
  uint64_t cur = ch;
  for (size_t i = 0; i < mult.size(); ++i) {
    const uint64_t out = ch * mult[i];
    for (uint32_t b = 0; b < u.res_blocks(); ++b) {
      res_block(cur, out, pixels);
      cur = out;
      skips.push_back(cur);
    }
    if (i + 1 < mult.size()) {
      s.parameters += conv3(cur, cur);
      skips.push_back(cur);
      pixels = std::max<uint64_t>(1, pixels / 4);
    }
  }
  res_block(cur, cur, pixels);
  if (u.attention()) {
    s.parameters += group_norm(cur) + linear(cur, 3 * cur) + linear(cur, cur);
    s.activation_bytes_per_sample += 4 * (8 * pixels * cur + 3 * pixels * pixels * u.attention_heads());
  }
  res_block(cur, cur, pixels);
  for (size_t i = mult.size(); i-- > 0;) {
    const uint64_t out = ch * mult[i];
    for (uint32_t b = 0; b <= u.res_blocks(); ++b) {
      res_block(cur + skips.back(), out, pixels);
      skips.pop_back();
      cur = out;
    }
    if (i > 0) {
      pixels *= 4;
      s.parameters += conv3(cur, cur);
    }
  }
  s.parameters += group_norm(cur) + conv3(cur, in_ch);
  if (checkpoint) s.activation_bytes_per_sample += largest_block;
  return s;
}

ModelSize dit(const Config& cfg, const std::vector<int64_t>& shape, uint64_t classes) {
  const DitConfig& d = cfg.model().dit();
  const DitShape ds = dit_shape(d);
  const uint64_t w = static_cast<uint64_t>(ds.width), hid = static_cast<uint64_t>(std::max<int64_t>(ds.mlp_hidden, 0));
  const uint64_t heads = static_cast<uint64_t>(std::max<int64_t>(ds.heads, 1)), p = std::max<uint32_t>(d.patch(), 1);
  const uint64_t patch_numel = static_cast<uint64_t>(shape[0]) * p * p;
  const uint64_t tokens = static_cast<uint64_t>(shape[1] / static_cast<int64_t>(p)) * static_cast<uint64_t>(shape[2] / static_cast<int64_t>(p));
  ModelSize s;
  s.parameters = linear(patch_numel, w) + linear(d.time_embedding() + flow_map_features(cfg), w) + linear(w, w) + linear(w, 2 * w) +
                 linear(w, patch_numel);
  if (d.learned_positions()) s.parameters += tokens * w;
  if (classes > 0 && cfg.model().class_conditional()) s.parameters += (classes + 1) * w;
  const uint64_t block = linear(w, 3 * w) + linear(w, w) + linear(w, hid) + linear(hid, w) + linear(w, 6 * w) + (d.qk_norm() ? 4 * (w / heads) : 0);
  s.parameters += static_cast<uint64_t>(ds.depth) * block;
  // a block keeps its input, norms, modulations, q k v, the attention's logits, exponentials and weights, the
  // MLP's hidden layer before and after GELU, and the products
  const uint64_t whole = 4 * (12 * tokens * w + 3 * tokens * hid + 3 * heads * tokens * tokens);
  const uint64_t kept = cfg.model().checkpoint_activations() ? 4 * tokens * w : whole;
  s.activation_bytes_per_sample = static_cast<uint64_t>(ds.depth) * kept + (cfg.model().checkpoint_activations() ? whole : 0) + 4 * 4 * tokens * w;
  return s;
}

ModelSize classifier(const Config& cfg, const std::vector<int64_t>& shape, uint64_t classes) {
  const ClassifierConfig& c = cfg.model().classifier();
  const uint64_t ch = c.channels(), in = static_cast<uint64_t>(shape[0]);
  const uint64_t pixels = static_cast<uint64_t>(shape[1]) * static_cast<uint64_t>(shape[2]), pooled = pixels / 16;
  ModelSize s;
  s.parameters = conv3(in, ch) + conv3(ch, ch) + conv3(ch, 2 * ch) + conv3(2 * ch, 2 * ch) + linear(2 * ch * pooled, c.features()) +
                 linear(c.features(), classes);
  s.activation_bytes_per_sample = 4 * (6 * pixels * ch + 6 * pixels / 4 * 2 * ch + 2 * c.features());
  return s;
}

}  // namespace

ModelSize estimate_model(const Config& cfg, const std::vector<int64_t>& item_shape, int64_t num_classes) {
  uint64_t dim = 1;
  for (int64_t d : item_shape) dim *= static_cast<uint64_t>(std::max<int64_t>(d, 1));
  const uint64_t classes = static_cast<uint64_t>(std::max<int64_t>(num_classes, 0));
  const std::string& name = cfg.model().name();
  if (name == "mlp") return mlp(cfg, dim, classes);
  if (name == "unet" && item_shape.size() == 3) return unet(cfg, item_shape, classes);
  if (name == "dit" && item_shape.size() == 3 && cfg.model().dit().patch() > 0) return dit(cfg, item_shape, classes);
  if (name == "classifier" && item_shape.size() == 3) return classifier(cfg, item_shape, classes);
  return {};  // the oracle has no parameters; a shape the architecture refuses is named by its constructor
}

TrainingMemory check_training_memory(const Config& cfg, const std::vector<int64_t>& item_shape, int64_t num_classes, uint64_t slice_samples) {
  const ModelSize s = estimate_model(cfg, item_shape, num_classes);
  // parameters, gradients, Adam's two moments, the EMA and (TVM) the target: up to six copies of float32
  const uint64_t copies = 4 + (cfg.train().ema_decay() > 0 ? 1 : 0) + (cfg.train().loss() == TrainConfig::TVM ? 2 : 0);
  const TrainingMemory m{static_cast<double>(s.parameters) * 4.0 * static_cast<double>(copies),
                         static_cast<double>(s.activation_bytes_per_sample) * static_cast<double>(slice_samples)};
  const double bytes = m.state_bytes + m.activation_bytes;
  const std::string& name = cfg.model().name();
  const std::string fields = name == "mlp"    ? "model.mlp.width, model.mlp.depth"
                             : name == "unet" ? "model.unet.channels, model.unet.channel_mult, model.unet.res_blocks"
                             : name == "dit"  ? "model.dit.size, model.dit.patch"
                                              : "model.classifier.channels, model.classifier.features";
  check_fits_in_memory(bytes > 9e18 ? uint64_t{9000000000000000000ull} : static_cast<uint64_t>(bytes),
                       "training model '" + name + "' (" + std::to_string(s.parameters) + " parameters) on " + std::to_string(slice_samples) +
                           " samples a rank",
                       "reduce " + fields + " or train.batch_size, use more ranks, set train.micro_batch" +
                           (name == "unet" || name == "dit" ? " or model.checkpoint_activations" : ""));
  return m;
}

}  // namespace lockstep
