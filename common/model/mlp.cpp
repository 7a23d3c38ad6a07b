#include "common/model/mlp.h"

#include <cmath>

#include "common/proto/config.pb.h"
#include "common/util/error.h"

namespace lockstep {

torch::Tensor embedding_frequencies(int64_t size, double max_frequency) {
  const int64_t half = size / 2;
  return max_frequency * torch::exp(-std::log(10000.0) * torch::arange(half, torch::kFloat32) / static_cast<double>(half));
}

torch::Tensor sinusoidal_embedding(const torch::Tensor& t, const torch::Tensor& freqs) {
  torch::Tensor args = t.unsqueeze(1) * freqs.unsqueeze(0);
  return torch::cat({torch::sin(args), torch::cos(args)}, 1);
}

Mlp::Mlp(const MlpConfig& cfg, int64_t dim, int64_t num_classes, const FlowMapSpec& flow_map) : num_classes_(num_classes) {
  freqs_ = register_buffer("freqs", embedding_frequencies(cfg.time_embedding(), cfg.time_max_frequency()));
  init_flow_map(flow_map);
  int64_t in = dim + cfg.time_embedding() + flow_map.extra_features();
  if (num_classes > 0) {
    classes_ = register_module("classes", torch::nn::Embedding(num_classes + 1, cfg.class_embedding()));
    in += cfg.class_embedding();
  }
  for (uint32_t i = 0; i < cfg.depth(); ++i) {
    layers_.push_back(register_module("fc" + std::to_string(i), torch::nn::Linear(in, cfg.width())));
    in = cfg.width();
  }
  layers_.push_back(register_module("out", torch::nn::Linear(in, dim)));
}

torch::Tensor Mlp::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y) {
  if (flow_map()) return forward_map(x, t, t, y, {});
  return run(x, t, y, {});
}

torch::Tensor Mlp::forward_map(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& s, const torch::Tensor& y,
                               const torch::Tensor& w) {
  LS_CHECK(flow_map(), "Mlp::forward_map: not a flow map (train.loss TVM builds one)");
  return scale_by_guidance(run(x, t, y, flow_map_features(t, s, w)), w);
}

torch::Tensor Mlp::run(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y, const torch::Tensor& extra) {
  std::vector<torch::Tensor> parts = {x, sinusoidal_embedding(t, freqs_)};
  if (extra.defined()) parts.push_back(extra);
  if (num_classes_ > 0) {
    const torch::Tensor labels = y.defined() ? y : torch::full({x.size(0)}, num_classes_, torch::TensorOptions(torch::kInt64).device(x.device()));
    parts.push_back(classes_->forward(labels));
  }
  torch::Tensor h = torch::cat(parts, 1);
  for (size_t i = 0; i + 1 < layers_.size(); ++i) h = torch::silu(layers_[i]->forward(h));
  return full_precision(layers_.back()->forward(h));  // float32 also under autocast
}

}  // namespace lockstep
