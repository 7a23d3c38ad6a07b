#include "common/optim/adam.h"

#include <cmath>

#include "common/proto/config.pb.h"

namespace lockstep {

Adam::Adam(const OptimConfig& cfg, int64_t numel, torch::Device device)
    : beta1_(cfg.beta1()), beta2_(cfg.beta2()), eps_(cfg.eps()), weight_decay_(cfg.weight_decay()),
      m_(torch::zeros({numel}, torch::TensorOptions(torch::kFloat32).device(device))),
      v_(torch::zeros({numel}, torch::TensorOptions(torch::kFloat32).device(device))),
      denom_(torch::empty({numel}, torch::TensorOptions(torch::kFloat32).device(device))) {}

void Adam::step(torch::Tensor& params, const torch::Tensor& grads, double lr) {
  torch::NoGradGuard no_grad;
  ++step_;
  if (weight_decay_ != 0.0) params.mul_(1.0 - lr * weight_decay_);
  m_.mul_(beta1_).add_(grads, 1.0 - beta1_);
  v_.mul_(beta2_).addcmul_(grads, grads, 1.0 - beta2_);
  const double bias1 = 1.0 - std::pow(beta1_, static_cast<double>(step_));
  const double bias2 = 1.0 - std::pow(beta2_, static_cast<double>(step_));
  torch::sqrt_out(denom_, v_);
  denom_.div_(std::sqrt(bias2)).add_(eps_);
  params.addcdiv_(m_, denom_, -lr / bias1);
}

}  // namespace lockstep
