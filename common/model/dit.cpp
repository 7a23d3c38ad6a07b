#include "common/model/dit.h"

#include <cmath>

#include "common/model/activation_checkpoint.h"
#include "common/model/dit_shape.h"
#include "common/model/mlp.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

namespace nn = torch::nn;

constexpr double kNormEps = 1e-6;

// DiT's _basic_init: Xavier-uniform weights, zero biases.
nn::Linear xavier_linear(int64_t in, int64_t out) {
  nn::Linear l(in, out);
  torch::NoGradGuard no_grad;
  nn::init::xavier_uniform_(l->weight);
  l->bias.zero_();
  return l;
}

void zero_init(nn::Linear& l) {
  torch::NoGradGuard no_grad;
  l->weight.zero_();
  l->bias.zero_();
}

// Layer norm over the last dimension, with optional affine parameters (DiT's norm1, norm2 and norm_final have none).
// written_out: in elementary operations, for flow maps: LibTorch 1.13's layer norm gives wrong gradients when its
// forward-mode derivative (the TVM loss's JVP) is differentiated in reverse mode; these operations give the right ones.
torch::Tensor layer_norm(const torch::Tensor& x, bool written_out, const torch::Tensor& weight = {}, const torch::Tensor& bias = {}) {
  if (!written_out) return torch::layer_norm(x, {x.size(-1)}, weight, bias, kNormEps);
  const torch::Tensor centred = x - x.mean(-1, true);
  torch::Tensor out = centred * (centred.pow(2).mean(-1, true) + kNormEps).rsqrt();
  if (weight.defined()) out = out * weight + bias;
  return out;
}

// x * (1 + scale) + shift, with shift and scale [n, width] broadcast over the tokens.
torch::Tensor modulate(const torch::Tensor& x, const torch::Tensor& shift, const torch::Tensor& scale) {
  return x * (1 + scale.unsqueeze(1)) + shift.unsqueeze(1);
}

// [n] of positions -> [n, dim]: [sin(pos w_k), cos(pos w_k)], w_k = 10000^(-k / (dim / 2)) (DiT's 1-D embedding).
torch::Tensor sincos_1d(int64_t dim, const torch::Tensor& pos) {
  const torch::Tensor omega = torch::pow(10000.0, -torch::arange(dim / 2, torch::kFloat64) / static_cast<double>(dim / 2));
  const torch::Tensor out = pos.to(torch::kFloat64).unsqueeze(1) * omega.unsqueeze(0);
  return torch::cat({out.sin(), out.cos()}, 1);
}

}  // namespace

DitBlockImpl::DitBlockImpl(int64_t width, int64_t heads, int64_t mlp_hidden, bool qk_norm, bool fused_attention)
    : width_(width), heads_(heads), qk_norm_(qk_norm), fused_attention_(fused_attention) {
  qkv_ = register_module("qkv", xavier_linear(width, 3 * width));
  proj_ = register_module("proj", xavier_linear(width, width));
  if (qk_norm) {
    q_norm_ = register_module("q_norm", nn::LayerNorm(nn::LayerNormOptions({width / heads}).eps(kNormEps)));
    k_norm_ = register_module("k_norm", nn::LayerNorm(nn::LayerNormOptions({width / heads}).eps(kNormEps)));
  }
  written_out_ = !fused_attention;  // flow maps: every op differentiable through its forward-mode derivative
  fc1_ = register_module("fc1", xavier_linear(width, mlp_hidden));
  fc2_ = register_module("fc2", xavier_linear(mlp_hidden, width));
  modulation_ = register_module("modulation", nn::Linear(width, 6 * width));
  zero_init(modulation_);  // adaLN-Zero: every gate starts at zero, the block at the identity
}

torch::Tensor DitBlockImpl::attention(const torch::Tensor& x) {
  const int64_t n = x.size(0), tokens = x.size(1), d = width_ / heads_;
  const torch::Tensor qkv = qkv_->forward(x).view({n, tokens, 3, heads_, d}).permute({2, 0, 3, 1, 4});  // [3, n, heads, T, d]
  torch::Tensor q = qkv[0], k = qkv[1];
  const torch::Tensor v = qkv[2];
  if (qk_norm_) {  // in float32 (LibTorch 1.13's CPU layer norm takes no bfloat16 input with float32 weights), then back
    q = layer_norm(full_precision(q), written_out_, q_norm_->weight, q_norm_->bias).to(v.scalar_type());
    k = layer_norm(full_precision(k), written_out_, k_norm_->weight, k_norm_->bias).to(v.scalar_type());
  }
  torch::Tensor out;
  if (fused_attention_) {
    out = std::get<0>(at::_scaled_dot_product_attention(q, k, v));
  } else {
    // softmax written out (as the U-Net's attention): LibTorch 1.13's forward-mode derivative of softmax cannot be
    // differentiated again, which the TVM loss needs; logits in float32 under autocast, as autocast runs softmax
    const torch::Tensor logits = full_precision(torch::matmul(q, k.transpose(-2, -1))) / std::sqrt(static_cast<double>(d));
    const torch::Tensor e = (logits - std::get<0>(logits.max(-1, true)).detach()).exp();
    const torch::Tensor attn = e / e.sum(-1, true);
    out = torch::matmul(attn, v.to(attn.scalar_type()));
  }
  return proj_->forward(out.transpose(1, 2).reshape({n, tokens, width_}));
}

torch::Tensor DitBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& c) {
  const std::vector<torch::Tensor> m = modulation_->forward(c).chunk(6, 1);  // shift, scale, gate of attention and MLP
  torch::Tensor h = x + m[2].unsqueeze(1) * attention(modulate(layer_norm(x, written_out_), m[0], m[1]));
  const torch::Tensor mlp = fc2_->forward(torch::gelu(fc1_->forward(modulate(layer_norm(h, written_out_), m[3], m[4])), "tanh"));
  return h + m[5].unsqueeze(1) * mlp;
}

torch::Tensor Dit::sincos_positions(int64_t width, int64_t rows, int64_t cols) {
  const torch::Tensor idx = torch::arange(rows * cols, torch::kInt64);
  const torch::Tensor row = idx.div(cols, "floor"), col = idx.remainder(cols);
  return torch::cat({sincos_1d(width / 2, col), sincos_1d(width / 2, row)}, 1).to(torch::kFloat32);
}

Dit::Dit(const DitConfig& cfg, const std::vector<int64_t>& item_shape, int64_t num_classes, const FlowMapSpec& flow_map,
         bool checkpoint_activations)
    : shape_(item_shape), patch_(cfg.patch()), num_classes_(num_classes), checkpoint_(checkpoint_activations) {
  init_flow_map(flow_map);
  LS_CHECK_INPUT(item_shape.size() == 3, "model 'dit' needs image data with items [C, H, W]; the data's items have shape "
                                             << shape_text(item_shape) << " (use model 'mlp' for points)");
  LS_CHECK_INPUT(patch_ >= 1 && item_shape[1] % patch_ == 0 && item_shape[2] % patch_ == 0,
                 "model.dit.patch " << patch_ << " does not divide the images' height and width " << item_shape[1] << " x " << item_shape[2]);
  const DitShape s = dit_shape(cfg);
  width_ = s.width;
  LS_CHECK_INPUT(s.heads >= 1 && s.width % s.heads == 0, "model.dit.heads " << s.heads << " does not divide the width " << s.width);
  LS_CHECK_INPUT(s.width % 4 == 0, "model.dit.width " << s.width << " must be divisible by 4 (the 2-D sine-cosine positions)");
  const int64_t channels = item_shape[0], rows = item_shape[1] / patch_, cols = item_shape[2] / patch_;
  const int64_t patch_numel = channels * patch_ * patch_;

  patch_embed_ = register_module("patch_embed", xavier_linear(patch_numel, width_));  // DiT: Xavier on the flattened conv weight
  const torch::Tensor pos = sincos_positions(width_, rows, cols);
  if (cfg.learned_positions()) positions_ = register_parameter("positions", pos);
  else positions_ = register_buffer("positions", pos);
  freqs_ = register_buffer("freqs", embedding_frequencies(cfg.time_embedding(), cfg.time_max_frequency()));
  time1_ = register_module("time1", nn::Linear(cfg.time_embedding() + flow_map.extra_features(), width_));
  time2_ = register_module("time2", nn::Linear(width_, width_));
  {
    torch::NoGradGuard no_grad;
    for (nn::Linear* l : {&time1_, &time2_}) {
      (*l)->weight.normal_(0.0, 0.02);
      (*l)->bias.zero_();
    }
  }
  if (num_classes > 0) {
    classes_ = register_module("classes", nn::Embedding(num_classes + 1, width_));
    torch::NoGradGuard no_grad;
    classes_->weight.normal_(0.0, 0.02);
  }
  // flow maps differentiate the network twice: the written-out attention (fused: first order only)
  const bool fused_attention = !flow_map.enabled;
  for (int64_t b = 0; b < s.depth; ++b) {
    blocks_.push_back(register_module("block" + std::to_string(b), DitBlock(width_, s.heads, s.mlp_hidden, cfg.qk_norm(), fused_attention)));
  }
  final_modulation_ = register_module("final_modulation", nn::Linear(width_, 2 * width_));
  final_ = register_module("final", nn::Linear(width_, patch_numel));
  zero_init(final_modulation_);
  zero_init(final_);
}

torch::Tensor Dit::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y) {
  if (flow_map()) return forward_map(x, t, t, y, {});
  return run(x, sinusoidal_embedding(t, freqs_), y);
}

torch::Tensor Dit::forward_map(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& s, const torch::Tensor& y,
                               const torch::Tensor& w) {
  LS_CHECK(flow_map(), "Dit::forward_map: not a flow map (train.loss TVM builds one)");
  return scale_by_guidance(run(x, torch::cat({sinusoidal_embedding(t, freqs_), flow_map_features(t, s, w)}, 1), y), w);
}

torch::Tensor Dit::run(const torch::Tensor& x, const torch::Tensor& temb, const torch::Tensor& y) {
  const int64_t n = x.size(0), channels = shape_[0], p = patch_, rows = shape_[1] / p, cols = shape_[2] / p;
  // patches: [n, C, rows, p, cols, p] -> [n, rows, cols, C, p, p] -> tokens [n, T, C p p]
  const torch::Tensor patches = x.view({n, channels, rows, p, cols, p}).permute({0, 2, 4, 1, 3, 5}).reshape({n, rows * cols, channels * p * p});
  torch::Tensor h = patch_embed_->forward(patches) + positions_.to(x.device()).unsqueeze(0);
  torch::Tensor c = time2_->forward(torch::silu(time1_->forward(temb)));
  if (num_classes_ > 0) {
    const torch::Tensor labels = y.defined() ? y : torch::full({n}, num_classes_, torch::TensorOptions(torch::kInt64).device(x.device()));
    c = c + classes_->forward(labels);
  }
  c = torch::silu(c);
  const bool recompute = checkpoint_ && checkpointing_allowed();
  for (size_t i = 0; i < blocks_.size(); ++i) {
    DitBlock& block = blocks_[i];
    // the last block is not recomputed: its backward comes right after the forward, so it would recompute what is
    // still at hand (a twelfth of DiT-S's recomputation for a twelfth more activation memory)
    if (recompute && i + 1 < blocks_.size()) {
      DitBlockImpl* b = block.get();
      h = checkpointed([b](const std::vector<torch::Tensor>& in) { return b->forward(in[0], in[1]); }, {h, c}, b->parameters());
    } else {
      h = block->forward(h, c);
    }
  }
  const std::vector<torch::Tensor> m = final_modulation_->forward(c).chunk(2, 1);  // shift, scale
  const torch::Tensor out = final_->forward(modulate(layer_norm(h, flow_map()), m[0], m[1]));  // [n, T, p p C]
  // back to the image: [n, rows, cols, p, p, C] -> [n, C, rows, p, cols, p]
  const torch::Tensor image = out.view({n, rows, cols, p, p, channels}).permute({0, 5, 1, 3, 2, 4});
  return full_precision(image).reshape({n, -1});
}

}  // namespace lockstep
