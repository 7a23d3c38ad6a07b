#include "common/model/unet.h"

#include <cmath>

#include "common/kernels/fast_paths.h"
#include "common/model/activation_checkpoint.h"
#include "common/model/conv.h"
#include "common/model/mlp.h"
#include "common/model/norm_act.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

namespace nn = torch::nn;

nn::GroupNorm group_norm(int64_t groups, int64_t channels) {
  LS_CHECK_INPUT(channels % groups == 0, "model.unet.groups " << groups << " does not divide " << channels
                                          << " channels of a U-Net layer; choose a group count that divides every level's channels");
  return nn::GroupNorm(nn::GroupNormOptions(groups, channels));
}

nn::Conv2d conv3(int64_t in, int64_t out, int64_t stride = 1) {
  return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

void zero_init(nn::Conv2d& c) {
  torch::NoGradGuard no_grad;
  c->weight.zero_();
  c->bias.zero_();
}

}  // namespace

ResBlockImpl::ResBlockImpl(int64_t in, int64_t out, int64_t emb, int64_t groups, bool fused) : fused_(fused) {
  norm1_ = register_module("norm1", group_norm(groups, in));
  conv1_ = register_module("conv1", conv3(in, out));
  emb_ = register_module("emb", nn::Linear(emb, out));
  norm2_ = register_module("norm2", group_norm(groups, out));
  conv2_ = register_module("conv2", conv3(out, out));
  zero_init(conv2_);
  if (in != out) skip_ = register_module("skip", nn::Conv2d(nn::Conv2dOptions(in, out, 1)));
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& emb) {
  torch::Tensor h = run_conv(conv1_, norm_act(norm1_, x, true, fused_));
  h = run_conv(conv2_, norm_act(norm2_, h, true, fused_, emb_->forward(emb)));  // the embedding added to h, then the norm
  return (skip_ ? run_conv(skip_, x) : x) + h;
}

AttentionImpl::AttentionImpl(int64_t channels, int64_t heads, int64_t groups, bool fused) : heads_(heads), fused_(fused) {
  LS_CHECK_INPUT(channels % heads == 0, "model.unet.attention_heads " << heads << " does not divide the " << channels
                                         << " channels at the lowest resolution");
  norm_ = register_module("norm", group_norm(groups, channels));
  qkv_ = register_module("qkv", nn::Conv2d(nn::Conv2dOptions(channels, 3 * channels, 1)));
  proj_ = register_module("proj", nn::Conv2d(nn::Conv2dOptions(channels, channels, 1)));
  zero_init(proj_);
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x) {
  const int64_t n = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3), d = c / heads_;
  const torch::Tensor qkv = run_conv(qkv_, norm_act(norm_, x, false, fused_)).reshape({n, 3, heads_, d, h * w});
  const torch::Tensor q = qkv.select(1, 0).reshape({n * heads_, d, h * w});
  const torch::Tensor k = qkv.select(1, 1).reshape({n * heads_, d, h * w});
  const torch::Tensor v = qkv.select(1, 2).reshape({n * heads_, d, h * w});
  // softmax written out: LibTorch 1.13's forward-mode derivative of torch::softmax cannot be differentiated again
  // (an in-place op on a saved exp), which the TVM loss needs; these four out-of-place ops can
  // (in float32 under autocast, as autocast runs torch::softmax)
  const torch::Tensor logits = full_precision(torch::bmm(q.transpose(1, 2), k)) / std::sqrt(static_cast<double>(d));
  const torch::Tensor e = (logits - std::get<0>(logits.max(-1, true)).detach()).exp();
  const torch::Tensor attn = e / e.sum(-1, true);
  torch::Tensor out = torch::bmm(v, attn.transpose(1, 2)).reshape({n, c, h, w});
  if (x.is_contiguous(at::MemoryFormat::ChannelsLast) && !x.is_contiguous()) out = out.contiguous(at::MemoryFormat::ChannelsLast);
  return x + run_conv(proj_, out);
}

Unet::Unet(const UnetConfig& cfg, const std::vector<int64_t>& item_shape, int64_t num_classes, const FlowMapSpec& flow_map,
           bool checkpoint_activations)
    : shape_(item_shape), checkpoint_(checkpoint_activations), num_classes_(num_classes), channels_last_(cfg.channels_last()), fused_(!flow_map.enabled) {
  init_flow_map(flow_map);
  LS_CHECK_INPUT(item_shape.size() == 3, "model 'unet' needs image data with items [C, H, W]; the data's items have shape "
                                             << shape_text(item_shape) << " (use model 'mlp' for points)");
  const int64_t ch = cfg.channels(), groups = cfg.groups();
  std::vector<int64_t> mult(cfg.channel_mult().begin(), cfg.channel_mult().end());
  if (mult.empty()) mult = {1, 2, 2};
  const int64_t emb = 4 * ch;
  const int64_t temb = cfg.time_embedding() > 0 ? cfg.time_embedding() : ch + ch % 2;
  freqs_ = register_buffer("freqs", embedding_frequencies(temb, cfg.time_max_frequency()));
  time1_ = register_module("time1", nn::Linear(temb + flow_map.extra_features(), emb));
  time2_ = register_module("time2", nn::Linear(emb, emb));
  if (num_classes > 0) classes_ = register_module("classes", nn::Embedding(num_classes + 1, emb));
  in_ = register_module("in", conv3(item_shape[0], ch));

  const size_t levels = mult.size();
  std::vector<int64_t> skips = {ch};  // channels of every activation kept for the way up
  int64_t cur = ch;
  down_.resize(levels);
  for (size_t i = 0; i < levels; ++i) {
    const int64_t out = ch * mult[i];
    for (uint32_t b = 0; b < cfg.res_blocks(); ++b) {
      down_[i].push_back(register_module("down" + std::to_string(i) + "_" + std::to_string(b), ResBlock(cur, out, emb, groups, fused_)));
      cur = out;
      skips.push_back(cur);
    }
    if (i + 1 < levels) {
      downsample_.push_back(register_module("downsample" + std::to_string(i), conv3(cur, cur, 2)));
      skips.push_back(cur);
    }
  }
  mid1_ = register_module("mid1", ResBlock(cur, cur, emb, groups, fused_));
  if (cfg.attention()) attention_ = register_module("attention", Attention(cur, cfg.attention_heads(), groups, fused_));
  mid2_ = register_module("mid2", ResBlock(cur, cur, emb, groups, fused_));
  up_.resize(levels);
  upsample_.assign(levels, torch::nn::Conv2d(nullptr));
  for (size_t i = levels; i-- > 0;) {
    const int64_t out = ch * mult[i];
    for (uint32_t b = 0; b <= cfg.res_blocks(); ++b) {
      up_[i].push_back(register_module("up" + std::to_string(i) + "_" + std::to_string(b), ResBlock(cur + skips.back(), out, emb, groups, fused_)));
      skips.pop_back();
      cur = out;
    }
    if (i > 0) upsample_[i] = register_module("upsample" + std::to_string(i), conv3(cur, cur));
  }
  out_norm_ = register_module("out_norm", group_norm(groups, cur));
  out_ = register_module("out", conv3(cur, item_shape[0]));
  zero_init(out_);
}

std::vector<FastPath> Unet::fast_paths(const Config& cfg, bool on_cuda) const {
  if (on_cuda) return {};
  std::vector<FastPath> out = {FastPath::kTimeEmbedding};
  // the fused node takes NCHW bfloat16 activations (bf16_mixed without channels_last), and not in flow maps
  if (fused_ && !channels_last_ && cfg.train().precision() == "bf16_mixed") out.push_back(FastPath::kGroupNormSilu);
  return out;
}

torch::Tensor Unet::forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y) {
  if (flow_map()) return forward_map(x, t, t, y, {});
  return run(x, sinusoidal_embedding(t, freqs_), y);
}

torch::Tensor Unet::forward_map(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& s, const torch::Tensor& y,
                                const torch::Tensor& w) {
  LS_CHECK(flow_map(), "Unet::forward_map: not a flow map (train.loss TVM builds one)");
  return scale_by_guidance(run(x, torch::cat({sinusoidal_embedding(t, freqs_), flow_map_features(t, s, w)}, 1), y), w);
}

torch::Tensor Unet::block(ResBlock& b, const torch::Tensor& h, const torch::Tensor& emb) const {
  if (!checkpoint_ || !checkpointing_allowed()) return b->forward(h, emb);
  ResBlockImpl* impl = b.get();
  return checkpointed([impl](const std::vector<torch::Tensor>& in) { return impl->forward(in[0], in[1]); }, {h, emb}, impl->parameters());
}

torch::Tensor Unet::run(const torch::Tensor& x, const torch::Tensor& temb, const torch::Tensor& y) {
  const int64_t n = x.size(0);
  torch::Tensor h = x.view({n, shape_[0], shape_[1], shape_[2]});
  if (channels_last_) h = h.contiguous(at::MemoryFormat::ChannelsLast);
  torch::Tensor e = time2_->forward(torch::silu(time1_->forward(temb)));
  if (num_classes_ > 0) {
    const torch::Tensor labels = y.defined() ? y : torch::full({n}, num_classes_, torch::TensorOptions(torch::kInt64).device(x.device()));
    e = e + classes_->forward(labels);
  }
  e = torch::silu(e);

  h = run_conv(in_, h);
  std::vector<torch::Tensor> skips = {h};
  for (size_t i = 0; i < down_.size(); ++i) {
    for (ResBlock& b : down_[i]) {
      h = block(b, h, e);
      skips.push_back(h);
    }
    if (i < downsample_.size()) {
      h = run_conv(downsample_[i], h);
      skips.push_back(h);
    }
  }
  h = block(mid1_, h, e);
  if (attention_) h = attention_->forward(h);
  h = block(mid2_, h, e);
  for (size_t i = up_.size(); i-- > 0;) {
    for (ResBlock& b : up_[i]) {
      h = block(b, torch::cat({h, skips.back()}, 1), e);
      skips.pop_back();
    }
    if (i > 0) {
      const torch::Tensor& next = skips.back();
      h = torch::nn::functional::interpolate(
          h, torch::nn::functional::InterpolateFuncOptions().size(std::vector<int64_t>{next.size(2), next.size(3)}).mode(torch::kNearest));
      h = run_conv(upsample_[i], h);
    }
  }
  h = run_conv(out_, norm_act(out_norm_, h, true, fused_));
  return full_precision(h).contiguous().view({n, -1});
}

}  // namespace lockstep
