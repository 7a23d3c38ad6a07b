#include "common/kernels/silu.h"

#include "common/kernels/vec_math.h"

namespace lockstep {
using vec::exp_poly;
using vec::sigmoid;

float sigmoid_poly(float x) { return sigmoid(x); }

LS_VECTOR_KERNEL void silu_forward(const float* __restrict pre, float* __restrict act, int64_t n) {
  for (int64_t i = 0; i < n; ++i) act[i] = pre[i] * sigmoid(pre[i]);
}

LS_VECTOR_KERNEL void silu_backward(const float* __restrict pre, float* __restrict grad, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float e = exp_poly(-pre[i]), s = 1.0f / (1.0f + e);
    grad[i] *= s * (1.0f + pre[i] * (e * s));  // 1 - s = e s, without the cancellation of 1 - s for large pre
  }
}

}  // namespace lockstep
