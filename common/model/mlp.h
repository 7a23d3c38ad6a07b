// MLP network: [x, sinusoidal_embedding(t), class_embedding(y)] -> (Linear, SiLU) x depth -> Linear; a flow map
// (net.h) also takes its gap and guidance features, after the time embedding.
//
// Contract: as Net (net.h). The time embedding uses frequencies w_max * 10000^(-k / (E/2)), k < E/2
// (w_max = model.mlp.time_max_frequency); it holds no parameters. Without autograd (grad mode off: sampling,
// evaluation), autocast and forward-mode tangents, on float32 CPU tensors, the forward pass runs by hand (the fast
// path kMlpInference, common/kernels/fast_paths.h): products through sgemm.h, each hidden layer's bias and SiLU in
// one vectorized pass, a narrow output layer in the last of them (common/kernels/mlp_out.h); the same numbers as
// LibTorch's layers up to float rounding (tested to 1e-5).
#pragma once

#include "common/model/net.h"

namespace lockstep {

class MlpConfig;

// Sinusoidal embedding [sin(w_k t), cos(w_k t)] of t [n] -> [n, E]. When t needs no gradient and carries no
// forward-mode tangent, both are float32 on the CPU and the fast path kTimeEmbedding is on, it is one pass of
// common/kernels/sincos.h (within 2 ulp of sin and cos), else LibTorch's sin and cos.
torch::Tensor sinusoidal_embedding(const torch::Tensor& t, const torch::Tensor& freqs);
torch::Tensor embedding_frequencies(int64_t size, double max_frequency);

class Mlp : public Net {
 public:
  // num_classes > 0: class-conditional, with a learned embedding for each class and the null class.
  Mlp(const MlpConfig& cfg, int64_t dim, int64_t num_classes = 0, const FlowMapSpec& flow_map = {});
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y = {}) override;
  torch::Tensor forward_map(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& s, const torch::Tensor& y,
                            const torch::Tensor& w) override;
  // The fused training step (mlp_step.h) where MlpStep::applicable(cfg).
  std::unique_ptr<FusedStep> fused_step(const Config& cfg, const Schedule& schedule, bool on_cuda) override;
  std::vector<FastPath> fast_paths(const Config& cfg, bool on_cuda) const override;
  // For the fused training step (mlp_step.h): the layers (hidden ones, then the output layer), the time
  // embedding's frequencies, and whether the model is class-conditional.
  const std::vector<torch::nn::Linear>& layers() const { return layers_; }
  const torch::Tensor& frequencies() const { return freqs_; }
  bool class_conditional() const { return num_classes_ > 0; }

 private:
  torch::Tensor run(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y, const torch::Tensor& extra);
  bool inference_path(const torch::Tensor& h) const;
  torch::Tensor run_inference(const torch::Tensor& input) const;
  torch::Tensor freqs_;
  std::vector<torch::nn::Linear> layers_;
  int64_t num_classes_ = 0;
  torch::nn::Embedding classes_{nullptr};
};

}  // namespace lockstep
