// The network interface: u_theta(x, t), a velocity field on the Gaussian path (t = 0 noise, t = 1 data).
//
// Contract: forward(x [n, d], t [n], y [n] or undefined) -> [n, d] (model "classifier": the logits [n, K],
// classifier.h); image networks view the d numbers as the
// data's item shape [C, H, W]. The output is float32, also under mixed precision (autocast.h). y holds class labels for class-conditional
// models; the value num_classes (or an undefined y) is the null class. Parameters are registered as usual with torch::nn::Module;
// FlatParams (flat_params.h) then moves them into one flat buffer. make_net() builds the architecture named
// in the config and prints nothing; its parameter initialisation depends only on the init seed.
// Capabilities: the engine asks the network instead of knowing architectures. fused_step() is the network's own
// training step for a config (fused_step.h; nullptr: none, autograd trains it), fast_paths() the CPU fast paths
// (common/kernels/fast_paths.h) its forward and backward take under a config, for the start-up banner.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

namespace lockstep {

class Config;
class DataSource;
class FusedStep;
class ModelConfig;
class Schedule;
enum class FastPath;

// Flow-map networks (train.loss TVM, common/loss/tvm.h) take the end time s of a jump as well: embedded as the gap
// s - t (sinusoidal, frequencies up to gap_max_frequency) and, with `guidance`, 1 / the guidance scale w (frequencies
// up to 1), both appended to the time embedding; with guidance the network's output is multiplied by w (guided
// velocities grow with w).
struct FlowMapSpec {
  bool enabled = false;
  int64_t gap_embedding = 32;
  double gap_max_frequency = 10.0;
  bool guidance = false;
  int64_t extra_features() const { return enabled ? gap_embedding * (guidance ? 2 : 1) : 0; }
};

class Net : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y = {}) = 0;
  // Flow-map networks: F(x, t, s | y, w) [n, d], the mean velocity of the jump x_s = x + (s - t) F from t to s; s [n],
  // w [n] the guidance scale (undefined: 1). forward(x, t, y) of a flow map is F(x, t, t | y, 1), its ordinary
  // velocity, so every ODE sampler works with it too. Throws InternalError for other networks.
  virtual torch::Tensor forward_map(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& s,
                                    const torch::Tensor& y, const torch::Tensor& w);
  bool flow_map() const { return flow_map_.enabled; }
  virtual std::unique_ptr<FusedStep> fused_step(const Config& cfg, const Schedule& schedule, bool on_cuda);
  virtual std::vector<FastPath> fast_paths(const Config& cfg, bool on_cuda) const;
  bool guidance_input() const { return flow_map_.enabled && flow_map_.guidance; }

 protected:
  // Registers the embedding frequencies (architectures call it in their constructor).
  void init_flow_map(const FlowMapSpec& spec);
  // [n, spec.extra_features()]: [emb(s - t), emb(1 / w)].
  torch::Tensor flow_map_features(const torch::Tensor& t, const torch::Tensor& s, const torch::Tensor& w) const;
  // out [n, ...] times w (with guidance; else out).
  torch::Tensor scale_by_guidance(const torch::Tensor& out, const torch::Tensor& w) const;
  FlowMapSpec flow_map_;
  torch::Tensor gap_freqs_, guidance_freqs_;
};

// x as float32 when it is in a reduced precision (autocast's bfloat16 or half), else unchanged (float32, or float64
// networks in the derivative tests).
inline torch::Tensor full_precision(const torch::Tensor& x) {
  return x.scalar_type() == torch::kBFloat16 || x.scalar_type() == torch::kHalf ? x.to(torch::kFloat32) : x;
}

// Builds the trainable network for items of `item_shape` ([d] for points, [C, H, W] for images), initialised
// from `init_seed`; num_classes: of a class-conditional model, or the classes a classifier tells apart. Throws
// BadInput when the architecture does not fit the shape.
std::shared_ptr<Net> make_net(const ModelConfig& cfg, const std::vector<int64_t>& item_shape, uint64_t init_seed,
                              int64_t num_classes = 0, const FlowMapSpec& flow_map = {});
// The flow-map inputs a config's network takes (enabled for train.loss TVM).
FlowMapSpec flow_map_spec(const Config& cfg);
// The model of a config: the oracle (oracle.h) or make_net().
std::shared_ptr<Net> make_model(const Config& cfg, const DataSource& data, uint64_t init_seed);
// Total number of parameters.
int64_t parameter_count(const torch::nn::Module& m);
// The initialisation seed of the model: model.init_seed, or one derived from the run seed.
uint64_t init_seed_of(const Config& cfg);

}  // namespace lockstep
