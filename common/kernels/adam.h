// Adam's update of a float32 buffer in one pass over memory (common/optim/adam's CPU path: the fast path kAdam,
// fast_paths.h).
//
// Contract: for every i in [0, n), in this order and in float32, as torch.optim.Adam / AdamW compute it:
//   param[i] *= decay                                   (decoupled weight decay; decay = 1 - lr * weight_decay)
//   m[i] = beta1 m[i] + one_minus_beta1 g[i];  v[i] = beta2 v[i] + one_minus_beta2 g[i]^2
//   param[i] -= step_size (m[i] / (sqrt(v[i]) / sqrt_bias2 + eps))    (step_size = lr / (1 - beta1^t), sqrt_bias2 =
//   sqrt(1 - beta2^t); every scalar computed in double and rounded once to float, as LibTorch's scalars are)
//   ema[i] = lerp(ema[i], param[i], ema_weight)   (when ema is not null: the moving average of the weights, after
//   the update; torch.lerp's arithmetic: ema + w (param - ema) for w < 0.5, else param - (param - ema)(1 - w))
// Element i depends on element i alone, so any split of [0, n) among threads gives the same bits. Denormals are
// flushed (FlushDenormals: a moment decaying towards zero would otherwise cost Intel cores an assist per element).
// Compiled for AVX-512, AVX2 and x86-64 with LOCKSTEP_X86_KERNELS, else for the compiler's target (vec_math.h). No
// allocation, no threads.
#pragma once

#include <cstdint>

namespace lockstep {

struct AdamScalars {
  float beta1 = 0.9f, one_minus_beta1 = 0.1f, beta2 = 0.999f, one_minus_beta2 = 0.001f;
  float step_size = 0.0f, sqrt_bias2 = 1.0f, eps = 1e-8f, decay = 1.0f, ema_weight = 0.0f;
};

void adam_update(const AdamScalars& s, float* param, const float* grad, float* m, float* v, float* ema, int64_t n);

}  // namespace lockstep
