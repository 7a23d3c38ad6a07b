#include "common/kernels/adam.h"

#include <cmath>

#include "common/kernels/vec_math.h"

namespace lockstep {

LS_VECTOR_KERNEL void adam_update(const AdamScalars& s, float* __restrict param, const float* __restrict grad, float* __restrict m,
                                  float* __restrict v, float* __restrict ema, int64_t n) {
  const vec::FlushDenormals flush;
  const float b1 = s.beta1, b2 = s.beta2, c1 = s.one_minus_beta1, c2 = s.one_minus_beta2, step = s.step_size, sb2 = s.sqrt_bias2,
              eps = s.eps, decay = s.decay;
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    const float mi = b1 * m[i] + c1 * g, vi = b2 * v[i] + c2 * (g * g);
    m[i] = mi;
    v[i] = vi;
    param[i] = param[i] * decay - step * (mi / (std::sqrt(vi) / sb2 + eps));
  }
  if (!ema) return;
  const float w = s.ema_weight, w1 = 1.0f - w;
  if (w < 0.5f) {
    for (int64_t i = 0; i < n; ++i) ema[i] = ema[i] + w * (param[i] - ema[i]);
  } else {
    for (int64_t i = 0; i < n; ++i) ema[i] = param[i] - (param[i] - ema[i]) * w1;
  }
}

}  // namespace lockstep
