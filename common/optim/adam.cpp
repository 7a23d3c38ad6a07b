#include "common/optim/adam.h"

#include <ATen/Parallel.h>

#include <cmath>

#include "common/kernels/adam.h"
#include "common/kernels/fast_paths.h"
#include "common/proto/config.pb.h"

namespace lockstep {

Adam::Adam(const OptimConfig& cfg, int64_t numel, torch::Device device)
    : beta1_(cfg.beta1()), beta2_(cfg.beta2()), eps_(cfg.eps()), weight_decay_(cfg.weight_decay()),
      m_(torch::zeros({numel}, torch::TensorOptions(torch::kFloat32).device(device))),
      v_(torch::zeros({numel}, torch::TensorOptions(torch::kFloat32).device(device))) {}

void Adam::step(torch::Tensor& params, const torch::Tensor& grads, double lr, torch::Tensor* ema, double ema_weight) {
  torch::NoGradGuard no_grad;
  ++step_;
  const double bias1 = 1.0 - std::pow(beta1_, static_cast<double>(step_));
  const double bias2 = 1.0 - std::pow(beta2_, static_cast<double>(step_));
  if (fast_path_on(FastPath::kAdam) && params.device().is_cpu() && params.is_contiguous() && grads.is_contiguous() &&
      (!ema || ema->is_contiguous())) {
    // one pass over memory (common/kernels/adam.h), in chunks on LibTorch's threads
    AdamScalars s;
    s.beta1 = static_cast<float>(beta1_);
    s.beta2 = static_cast<float>(beta2_);
    s.one_minus_beta1 = static_cast<float>(1.0 - beta1_);
    s.one_minus_beta2 = static_cast<float>(1.0 - beta2_);
    s.step_size = static_cast<float>(lr / bias1);
    s.sqrt_bias2 = static_cast<float>(std::sqrt(bias2));
    s.eps = static_cast<float>(eps_);
    s.decay = static_cast<float>(1.0 - lr * weight_decay_);
    s.ema_weight = static_cast<float>(ema_weight);
    float *p = params.data_ptr<float>(), *m = m_.data_ptr<float>(), *v = v_.data_ptr<float>();
    float* a = ema ? ema->data_ptr<float>() : nullptr;
    const float* g = grads.data_ptr<float>();
    at::parallel_for(0, params.numel(), int64_t{1} << 15,
                     [&](int64_t b, int64_t e) { adam_update(s, p + b, g + b, m + b, v + b, a ? a + b : nullptr, e - b); });
    return;
  }
  // the portable path (and CUDA): whole-buffer operations
  if (weight_decay_ != 0.0) params.mul_(1.0 - lr * weight_decay_);
  m_.mul_(beta1_).add_(grads, 1.0 - beta1_);
  v_.mul_(beta2_).addcmul_(grads, grads, 1.0 - beta2_);
  if (!denom_.defined()) denom_ = torch::empty_like(v_);
  torch::sqrt_out(denom_, v_);
  denom_.div_(std::sqrt(bias2)).add_(eps_);
  params.addcdiv_(m_, denom_, -lr / bias1);
  if (ema) ema->lerp_(params, ema_weight);
}

}  // namespace lockstep
