// Diffusion Transformer (model.dit in config.proto; Peebles & Xie 2023) for images [C, H, W].
//
// Contract: as Net (net.h). forward() views the flat [n, C*H*W] items as [n, C, H, W], cuts them into
// patch x patch patches (tokens, in row-major order of the patch grid, each patch's pixels in (C, p, p) order, as a
// stride-p convolution reads them), maps each to the width, adds the 2-D sine-cosine position embedding, runs the
// blocks and maps every token back to its p*p*C pixels (ordered (p, p, C), as DiT's final layer) and the patches back
// to the image. Conditioning c = MLP(sinusoidal(t) [+ flow-map features]) + class embedding (num_classes rows plus
// the null class); every block and the final layer take SiLU(c). A new network is the zero field: every block's
// adaLN-Zero gates and the final layer start at zero. Initialisation as DiT's: Xavier-uniform linear maps with zero
// biases, normal(0.02) time-MLP weights and class embeddings. Attention: LibTorch's fused
// _scaled_dot_product_attention where the network is differentiated once; in flow maps (the TVM loss differentiates
// the JVP again) the product and a softmax written out in differentiable operations, and so are the layer norms. With
// model.checkpoint_activations every block but the last is recomputed in backward (activation_checkpoint.h). Throws BadInput when
// the items are not [C, H, W], the patch does not divide H and W, or the heads do not divide the width.
#pragma once

#include <vector>

#include "common/model/net.h"

namespace lockstep {

class DitConfig;

class DitBlockImpl : public torch::nn::Module {
 public:
  DitBlockImpl(int64_t width, int64_t heads, int64_t mlp_hidden, bool qk_norm, bool fused_attention);
  // x [n, T, width], c [n, width] (the conditioning after SiLU) -> [n, T, width]
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& c);

 private:
  torch::Tensor attention(const torch::Tensor& x);
  int64_t width_, heads_;
  bool qk_norm_, fused_attention_, written_out_ = false;
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr}, fc1_{nullptr}, fc2_{nullptr}, modulation_{nullptr};
  torch::nn::LayerNorm q_norm_{nullptr}, k_norm_{nullptr};
};
TORCH_MODULE(DitBlock);

class Dit : public Net {
 public:
  Dit(const DitConfig& cfg, const std::vector<int64_t>& item_shape, int64_t num_classes = 0, const FlowMapSpec& flow_map = {},
      bool checkpoint_activations = false);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y = {}) override;
  torch::Tensor forward_map(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& s, const torch::Tensor& y,
                            const torch::Tensor& w) override;
  // [tokens, width]: the 2-D sine-cosine embedding of a rows x cols grid (DiT's get_2d_sincos_pos_embed: the first
  // half of each row embeds the column, the second half the row; width divisible by 4)
  static torch::Tensor sincos_positions(int64_t width, int64_t rows, int64_t cols);

 private:
  torch::Tensor run(const torch::Tensor& x, const torch::Tensor& temb, const torch::Tensor& y);
  std::vector<int64_t> shape_;
  int64_t patch_ = 2, width_ = 0, num_classes_ = 0;
  bool checkpoint_ = false;
  torch::Tensor freqs_, positions_;
  torch::nn::Linear patch_embed_{nullptr}, time1_{nullptr}, time2_{nullptr}, final_modulation_{nullptr}, final_{nullptr};
  torch::nn::Embedding classes_{nullptr};
  std::vector<DitBlock> blocks_;
};

}  // namespace lockstep
