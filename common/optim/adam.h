// Adam on the flat parameter buffer: the arithmetic of torch.optim.Adam (bias-corrected moments, eps added
// after the square root), with decoupled weight decay as torch.optim.AdamW when weight_decay > 0.
//
// Contract: step() reads the flat gradient and updates the flat parameters and its two moment buffers in
// place, without allocation: on the CPU in one pass over memory (common/kernels/adam.h), elsewhere in a handful of
// whole-buffer operations. The state (m, v, step count) is what a
// checkpoint stores. Identical inputs give bitwise identical results on every rank. The one pass is a CPU fast
// path (common/kernels/fast_paths.h): with the fast paths off, the CPU runs the whole-buffer operations too.
#pragma once

#include <torch/torch.h>

namespace lockstep {

class OptimConfig;

class Adam {
 public:
  Adam(const OptimConfig& cfg, int64_t numel, torch::Device device = torch::kCPU);
  // With ema: then ema.lerp_(params, ema_weight) (the moving average of the weights), in the same pass on the CPU.
  void step(torch::Tensor& params, const torch::Tensor& grads, double lr, torch::Tensor* ema = nullptr, double ema_weight = 0.0);
  torch::Tensor& exp_avg() { return m_; }
  torch::Tensor& exp_avg_sq() { return v_; }
  uint64_t step_count() const { return step_; }
  void set_step_count(uint64_t s) { step_ = s; }

 private:
  double beta1_, beta2_, eps_, weight_decay_;
  torch::Tensor m_, v_, denom_;
  uint64_t step_ = 0;
};

}  // namespace lockstep
