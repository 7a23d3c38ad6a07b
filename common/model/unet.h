// U-Net for small images (model.unet in config.proto): residual blocks with group norm, a sinusoidal time
// embedding through an MLP, a learned class embedding with a null class, optional multi-head self-attention
// at the lowest resolution, skip connections between the two halves. A flow map (net.h) appends its gap and
// guidance features to the sinusoidal time embedding, before the embedding MLP.
//
// Contract: as Net (net.h). forward() takes the flat [n, C*H*W] items of an image data set, views them as
// [n, C, H, W] (no copy), and returns [n, C*H*W]. The last convolution of every residual block, of the
// attention projection and of the output starts at zero, so a new network is the zero field and every block
// starts as the identity. With model.checkpoint_activations the residual blocks are recomputed in backward. Under bf16 autocast on the CPU, group norm + SiLU run fused (norm_act.h), except in
// flow maps. Throws BadInput when the item shape is not [C, H, W] or the group count does not
// divide a level's channels.
#pragma once

#include <vector>

#include "common/model/net.h"

namespace lockstep {

class UnetConfig;

class ResBlockImpl : public torch::nn::Module {
 public:
  // fused: norm + SiLU may run as one first-order node on bf16 activations (norm_act.h)
  ResBlockImpl(int64_t in, int64_t out, int64_t emb, int64_t groups, bool fused);
  // x [n, in, H, W], emb [n, E] (already through SiLU) -> [n, out, H, W].
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb);

 private:
  torch::nn::GroupNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr}, skip_{nullptr};
  torch::nn::Linear emb_{nullptr};
  bool fused_;
};
TORCH_MODULE(ResBlock);

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(int64_t channels, int64_t heads, int64_t groups, bool fused);
  torch::Tensor forward(const torch::Tensor& x);

 private:
  int64_t heads_;
  bool fused_;
  torch::nn::GroupNorm norm_{nullptr};
  torch::nn::Conv2d qkv_{nullptr}, proj_{nullptr};
};
TORCH_MODULE(Attention);

class Unet : public Net {
 public:
  // item_shape [C, H, W]; num_classes > 0: class-conditional (labels num_classes = the null class).
  // checkpoint_activations: every residual block recomputed in backward (activation_checkpoint.h)
  Unet(const UnetConfig& cfg, const std::vector<int64_t>& item_shape, int64_t num_classes = 0, const FlowMapSpec& flow_map = {},
       bool checkpoint_activations = false);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y = {}) override;
  torch::Tensor forward_map(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& s, const torch::Tensor& y,
                            const torch::Tensor& w) override;
  std::vector<FastPath> fast_paths(const Config& cfg, bool on_cuda) const override;

 private:
  // the network on the embedding input [sinusoidal(t), flow-map features]
  torch::Tensor run(const torch::Tensor& x, const torch::Tensor& temb, const torch::Tensor& y);
  torch::Tensor block(ResBlock& b, const torch::Tensor& h, const torch::Tensor& emb) const;
  std::vector<int64_t> shape_;
  bool checkpoint_ = false;
  int64_t num_classes_ = 0;
  bool channels_last_ = true;
  bool fused_ = true;  // norm_act's fused node (first-order only): off for flow maps, whose loss differentiates twice
  torch::Tensor freqs_;
  torch::nn::Linear time1_{nullptr}, time2_{nullptr};
  torch::nn::Embedding classes_{nullptr};
  torch::nn::Conv2d in_{nullptr}, out_{nullptr};
  torch::nn::GroupNorm out_norm_{nullptr};
  // Down: per level res_blocks blocks, then (except at the last level) a stride-2 convolution.
  std::vector<std::vector<ResBlock>> down_;
  std::vector<torch::nn::Conv2d> downsample_;
  ResBlock mid1_{nullptr}, mid2_{nullptr};
  Attention attention_{nullptr};
  // Up: per level (lowest first) res_blocks + 1 blocks on [h, skip], then (except at level 0) upsampling.
  std::vector<std::vector<ResBlock>> up_;
  std::vector<torch::nn::Conv2d> upsample_;
};

}  // namespace lockstep
