// The network interface: u_theta(x, t), a velocity field on the Gaussian path (t = 0 noise, t = 1 data).
//
// Contract: forward(x [n, d], t [n], y [n] or undefined) -> [n, d] (model "classifier": the logits [n, K],
// classifier.h); image networks view the d numbers as the
// data's item shape [C, H, W]. The output is float32, also under mixed precision (autocast.h). y holds class labels for class-conditional
// models; the value num_classes (or an undefined y) is the null class. Parameters are registered as usual with torch::nn::Module;
// FlatParams (flat_params.h) then moves them into one flat buffer. make_net() builds the architecture named
// in the config and prints nothing; its parameter initialisation depends only on the init seed.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <vector>

namespace lockstep {

class Config;
class DataSource;
class ModelConfig;

class Net : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y = {}) = 0;
};

// Builds the trainable network for items of `item_shape` ([d] for points, [C, H, W] for images), initialised
// from `init_seed`; num_classes: of a class-conditional model, or the classes a classifier tells apart. Throws
// BadInput when the architecture does not fit the shape.
std::shared_ptr<Net> make_net(const ModelConfig& cfg, const std::vector<int64_t>& item_shape, uint64_t init_seed,
                              int64_t num_classes = 0);
// The model of a config: the oracle (oracle.h) or make_net().
std::shared_ptr<Net> make_model(const Config& cfg, const DataSource& data, uint64_t init_seed);
// Total number of parameters.
int64_t parameter_count(const torch::nn::Module& m);

}  // namespace lockstep
