#include "common/kernels/mlp_out.h"

#include "common/kernels/silu_rows.h"
#include "common/kernels/vec_math.h"

namespace lockstep {

void silu_forward_bias_out(float* x, const float* bias, int64_t rows, int64_t cols, const float* w, const float* out_bias, int64_t out_dim,
                           float* out) {
  const vec::FlushDenormals flush;
  for (int64_t r = 0; r < rows; ++r) silu_bias_out_row(x + r * cols, bias, cols, w, out_bias, out_dim, out + r * out_dim);
}

void silu_forward_bias_slope_out(float* pre, const float* bias, float* act, int64_t rows, int64_t cols, const float* w, const float* out_bias,
                                 int64_t out_dim, float* out) {
  const vec::FlushDenormals flush;
  for (int64_t r = 0; r < rows; ++r) silu_bias_slope_out_row(pre + r * cols, bias, act + r * cols, cols, w, out_bias, out_dim, out + r * out_dim);
}

LS_VECTOR_KERNEL void mlp_out_backward(const float* __restrict grad_out, const float* __restrict w, const float* __restrict act,
                                       const float* __restrict slope, float* __restrict gin, int64_t rows, int64_t cols, int64_t out_dim,
                                       double* __restrict colsum, float* __restrict dw) {
  const vec::FlushDenormals flush;
  for (int64_t r = 0; r < rows; ++r) {
    const float* g = grad_out + r * out_dim;
    const float *a = act + r * cols, *s = slope + r * cols;
    float* o = gin + r * cols;
    for (int64_t c = 0; c < cols; ++c) o[c] = g[0] * w[c];
    for (int64_t k = 1; k < out_dim; ++k) {
      const float gk = g[k];
      const float* wk = w + k * cols;
      for (int64_t c = 0; c < cols; ++c) o[c] += gk * wk[c];
    }
    for (int64_t c = 0; c < cols; ++c) {
      o[c] *= s[c];
      colsum[c] += o[c];
    }
    for (int64_t k = 0; k < out_dim; ++k) {
      const float gk = g[k];
      float* d = dw + k * cols;
      for (int64_t c = 0; c < cols; ++c) d[c] += gk * a[c];
    }
  }
}

}  // namespace lockstep
