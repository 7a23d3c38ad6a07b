// Adam on the flat parameter buffer: the arithmetic of torch.optim.Adam (bias-corrected moments, eps added
// after the square root), with decoupled weight decay as torch.optim.AdamW when weight_decay > 0.
//
// Contract: step() reads the flat gradient and updates the flat parameters and its two moment buffers in
// place, without allocation: on the CPU in one pass over memory (common/kernels/adam.h), elsewhere in a handful of
// whole-buffer operations. The state (m, v, step count) is what a
// checkpoint stores. Identical inputs give bitwise identical results on every rank.
// Sharded (worker/sharded_step.h): the moments may live in memory the caller supplies (m_storage, v_storage: numel
// floats each, zeroed, outliving the Adam), and step() may update only elements [begin, end) (CPU only), with the
// same bits there as a whole step: element i depends on element i alone.
#pragma once

#include <torch/torch.h>

namespace lockstep {

class OptimConfig;

class Adam {
 public:
  Adam(const OptimConfig& cfg, int64_t numel, torch::Device device = torch::kCPU, float* m_storage = nullptr, float* v_storage = nullptr);
  // With ema: then ema.lerp_(params, ema_weight) (the moving average of the weights), in the same pass on the CPU.
  // end < 0: to the end of the buffers.
  void step(torch::Tensor& params, const torch::Tensor& grads, double lr, torch::Tensor* ema = nullptr, double ema_weight = 0.0,
            int64_t begin = 0, int64_t end = -1);
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
