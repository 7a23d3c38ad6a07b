#include "common/kernels/silu.h"

#include "common/kernels/silu_rows.h"
#include "common/kernels/vec_math.h"

namespace lockstep {
using vec::exp_poly;
using vec::sigmoid;

float sigmoid_poly(float x) { return sigmoid(x); }

LS_VECTOR_KERNEL void silu_forward(const float* __restrict pre, float* __restrict act, int64_t n) {
  const vec::FlushDenormals flush;
  for (int64_t i = 0; i < n; ++i) act[i] = pre[i] * sigmoid(pre[i]);
}

LS_VECTOR_KERNEL void silu_backward(const float* __restrict pre, float* __restrict grad, int64_t n) {
  const vec::FlushDenormals flush;
  for (int64_t i = 0; i < n; ++i) {
    const float e = exp_poly(-pre[i]), s = vec::sigmoid_from_exp(e);
    grad[i] *= s * (1.0f + pre[i] * (e * s));  // 1 - s = e s, without the cancellation of 1 - s for large pre
  }
}

void silu_forward_bias_slope(float* __restrict pre, const float* __restrict bias, float* __restrict act, int64_t rows,
                                               int64_t cols) {
  const vec::FlushDenormals flush;
  for (int64_t r = 0; r < rows; ++r) silu_bias_slope_row(pre + r * cols, bias, act + r * cols, cols);
}

void silu_forward_bias(float* __restrict x, const float* __restrict bias, int64_t rows, int64_t cols) {
  const vec::FlushDenormals flush;
  for (int64_t r = 0; r < rows; ++r) silu_bias_row(x + r * cols, bias, cols);
}

LS_VECTOR_KERNEL void scale_colsum(const float* __restrict slope, float* __restrict grad, int64_t rows, int64_t cols,
                                   double* __restrict colsum) {
  const vec::FlushDenormals flush;
  for (int64_t r = 0; r < rows; ++r) {
    const float* p = slope + r * cols;
    float* g = grad + r * cols;
    for (int64_t c = 0; c < cols; ++c) g[c] *= p[c];
    for (int64_t c = 0; c < cols; ++c) colsum[c] += g[c];
  }
}

}  // namespace lockstep
