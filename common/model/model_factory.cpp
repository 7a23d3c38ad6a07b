#include <mutex>

#include "common/data/dataset.h"
#include "common/kernels/fast_paths.h"
#include "common/model/classifier.h"
#include "common/model/dit.h"
#include "common/model/fused_step.h"
#include "common/model/mlp.h"
#include "common/model/oracle.h"
#include "common/model/unet.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"

namespace lockstep {

std::shared_ptr<Net> make_net(const ModelConfig& cfg, const std::vector<int64_t>& item_shape, uint64_t init_seed,
                              int64_t num_classes, const FlowMapSpec& flow_map) {
  // torch's initialisers draw from the global CPU generator: seed it and build, under a lock so that
  // thread-ranks (the local backend) do not interleave. The training randomness is counter-based and does
  // not use this generator.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  torch::manual_seed(init_seed);
  if (cfg.name() == "mlp") {
    int64_t dim = 1;
    for (int64_t s : item_shape) dim *= s;
    return std::make_shared<Mlp>(cfg.mlp(), dim, num_classes, flow_map);
  }
  if (cfg.name() == "unet") return std::make_shared<Unet>(cfg.unet(), item_shape, num_classes, flow_map, cfg.checkpoint_activations());
  if (cfg.name() == "dit") return std::make_shared<Dit>(cfg.dit(), item_shape, num_classes, flow_map, cfg.checkpoint_activations());
  LS_CHECK(!flow_map.enabled, "make_net: model '" << cfg.name() << "' is not a flow map");
  if (cfg.name() == "classifier") return std::make_shared<Classifier>(cfg.classifier(), item_shape, num_classes);
  if (cfg.name() == "oracle") throw BadInput("model 'oracle' has no parameters to train; sample it with `lockstep sample CONFIG`");
  throw InternalError("make_net: unknown model '" + cfg.name() + "' (config validation should have refused it)");
}

std::shared_ptr<Net> make_model(const Config& cfg, const DataSource& data, uint64_t init_seed) {
  if (cfg.model().name() == "oracle") return std::make_shared<Oracle>(cfg, data);
  const bool labelled = cfg.model().class_conditional() || cfg.model().name() == "classifier";
  return make_net(cfg.model(), data.item_shape(), init_seed, labelled ? data.num_classes() : 0, flow_map_spec(cfg));
}

FlowMapSpec flow_map_spec(const Config& cfg) {
  FlowMapSpec f;
  f.enabled = cfg.train().loss() == TrainConfig::TVM;
  f.gap_embedding = cfg.model().gap_embedding();
  f.gap_max_frequency = cfg.model().gap_max_frequency();
  f.guidance = f.enabled && cfg.model().class_conditional() && cfg.train().tvm().guidance_max() > 1.0;
  return f;
}

torch::Tensor Net::forward_map(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                               const torch::Tensor&) {
  throw InternalError("forward_map: this network is not a flow map (train.loss TVM builds one)");
}

std::unique_ptr<FusedStep> Net::fused_step(const Config&, const Schedule&, bool) { return nullptr; }

std::vector<FastPath> Net::fast_paths(const Config&, bool) const { return {}; }

void Net::init_flow_map(const FlowMapSpec& spec) {
  flow_map_ = spec;
  if (!spec.enabled) return;
  gap_freqs_ = register_buffer("gap_freqs", embedding_frequencies(spec.gap_embedding, spec.gap_max_frequency));
  if (spec.guidance) guidance_freqs_ = register_buffer("guidance_freqs", embedding_frequencies(spec.gap_embedding, 1.0));
}

torch::Tensor Net::flow_map_features(const torch::Tensor& t, const torch::Tensor& s, const torch::Tensor& w) const {
  torch::Tensor gap = sinusoidal_embedding(s - t, gap_freqs_);
  if (!flow_map_.guidance) return gap;
  const torch::Tensor inverse = w.defined() ? w.reciprocal() : torch::ones_like(t);
  return torch::cat({gap, sinusoidal_embedding(inverse, guidance_freqs_)}, 1);
}

torch::Tensor Net::scale_by_guidance(const torch::Tensor& out, const torch::Tensor& w) const {
  if (!flow_map_.guidance || !w.defined()) return out;
  return out * w.to(out.scalar_type()).view({-1, 1});
}

uint64_t init_seed_of(const Config& cfg) {
  return cfg.model().init_seed() != 0 ? cfg.model().init_seed() : cfg.seed() * 0x9E3779B97F4A7C15ull + 0x1234567ull;
}

int64_t parameter_count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const torch::Tensor& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace lockstep
