#include "common/model/mlp.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>

#include <cmath>

#include "common/kernels/fast_paths.h"
#include "common/kernels/mlp_out.h"
#include "common/kernels/silu.h"
#include "common/kernels/sincos.h"
#include "common/model/mlp_step.h"
#include "common/model/sgemm.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

constexpr int64_t kGrainRows = 256;  // rows per piece of the SiLU passes on LibTorch's threads

bool contiguous_float_cpu(const torch::Tensor& t) { return t.device().is_cpu() && t.scalar_type() == torch::kFloat32 && t.is_contiguous(); }

// whether t carries a forward-mode tangent (the flow map's JVP, common/loss/tvm.cpp), which the hand-written passes
// would drop; LibTorch 1.13 opens one dual level at a time, level 0
bool dual(const torch::Tensor& t) { return t._fw_grad(/*level=*/0).defined(); }

}  // namespace

torch::Tensor embedding_frequencies(int64_t size, double max_frequency) {
  const int64_t half = size / 2;
  return max_frequency * torch::exp(-std::log(10000.0) * torch::arange(half, torch::kFloat32) / static_cast<double>(half));
}

torch::Tensor sinusoidal_embedding(const torch::Tensor& t, const torch::Tensor& freqs) {
  // no gradient or tangent to carry (the frequencies are a buffer): one pass of common/kernels/sincos on the CPU
  if (fast_path_on(FastPath::kTimeEmbedding) && !t.requires_grad() && !dual(t) && t.dim() == 1 && contiguous_float_cpu(t) &&
      contiguous_float_cpu(freqs)) {
    const int64_t n = t.size(0), half = freqs.size(0);
    torch::Tensor out = torch::empty({n, 2 * half});
    const float *tp = t.data_ptr<float>(), *fp = freqs.data_ptr<float>();
    float* op = out.data_ptr<float>();
    at::parallel_for(0, n, kGrainRows, [&](int64_t b, int64_t e) { sinusoidal_rows(tp + b, fp, e - b, half, op + b * 2 * half, 2 * half); });
    return out;
  }
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
  if (inference_path(h)) return run_inference(h);
  for (size_t i = 0; i + 1 < layers_.size(); ++i) h = torch::silu(layers_[i]->forward(h));
  return full_precision(layers_.back()->forward(h));  // float32 also under autocast
}

std::unique_ptr<FusedStep> Mlp::fused_step(const Config& cfg, const Schedule& schedule, bool on_cuda) {
  if (!MlpStep::applicable(cfg, on_cuda)) return nullptr;
  return std::make_unique<MlpStep>(*this, schedule);
}

std::vector<FastPath> Mlp::fast_paths(const Config& cfg, bool on_cuda) const {
  if (on_cuda) return {};
  std::vector<FastPath> out;
  if (MlpStep::applicable(cfg, on_cuda)) out.push_back(FastPath::kMlpStep);
  out.push_back(FastPath::kMlpInference);  // sampling and evaluation
  out.push_back(FastPath::kTimeEmbedding);
  return out;
}

bool Mlp::inference_path(const torch::Tensor& h) const {
  if (!fast_path_on(FastPath::kMlpInference) || torch::GradMode::is_enabled() || at::autocast::is_cpu_enabled() || layers_.size() < 2 ||
      !contiguous_float_cpu(h) || dual(h))
    return false;
  for (const torch::nn::Linear& l : layers_)
    if (!contiguous_float_cpu(l->weight) || !contiguous_float_cpu(l->bias)) return false;
  return true;
}

torch::Tensor Mlp::run_inference(const torch::Tensor& input) const {
  const int64_t n = input.size(0), hidden = static_cast<int64_t>(layers_.size()) - 1;
  const torch::Tensor &w_out = layers_.back()->weight, &b_out = layers_.back()->bias;
  const int64_t out_dim = w_out.size(0);
  const bool fold_out = out_dim <= kMaxOutDim;  // the narrow output layer in the last SiLU pass
  torch::Tensor out = torch::empty({n, out_dim}), h = input;
  for (int64_t i = 0; i < hidden; ++i) {
    const torch::Tensor& w = layers_[i]->weight;
    const int64_t cols = w.size(0);
    torch::Tensor a = torch::empty({n, cols});
    sgemm(a, h, false, w, true);
    float* ap = a.data_ptr<float>();
    const float* bias = layers_[i]->bias.data_ptr<float>();
    if (fold_out && i + 1 == hidden) {
      const float *wo = w_out.data_ptr<float>(), *bo = b_out.data_ptr<float>();
      float* op = out.data_ptr<float>();
      at::parallel_for(0, n, kGrainRows, [&](int64_t b, int64_t e) {
        silu_forward_bias_out(ap + b * cols, bias, e - b, cols, wo, bo, out_dim, op + b * out_dim);
      });
    } else {
      at::parallel_for(0, n, kGrainRows, [&](int64_t b, int64_t e) { silu_forward_bias(ap + b * cols, bias, e - b, cols); });
    }
    h = a;
  }
  if (!fold_out) {
    sgemm(out, h, false, w_out, true);
    out.add_(b_out);
  }
  return out;
}

}  // namespace lockstep
