#include "common/kernels/mlp_out.h"

#include "common/kernels/silu.h"
#include "common/kernels/vec_math.h"

namespace lockstep {
namespace {

constexpr int kLanes = 16;

// sum_c a[c] b[c] in kLanes float lanes of consecutive elements, the lanes added in order, then the tail
inline float dot_lanes(const float* __restrict a, const float* __restrict b, int64_t n) {
  float acc[kLanes] = {};
  int64_t c = 0;
  for (; c + kLanes <= n; c += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += a[c + l] * b[c + l];
  float total = 0.0f;
  for (float x : acc) total += x;
  for (; c < n; ++c) total += a[c] * b[c];
  return total;
}

// out[k] = out_bias[k] + sum_c a[c] w[k][c] for one row a
inline void out_row(const float* __restrict a, int64_t cols, const float* __restrict w, const float* __restrict out_bias, int64_t out_dim,
                    float* __restrict out) {
  for (int64_t k = 0; k < out_dim; ++k) out[k] = out_bias[k] + dot_lanes(a, w + k * cols, cols);
}

}  // namespace

LS_VECTOR_KERNEL void silu_forward_bias_out(float* __restrict x, const float* __restrict bias, int64_t rows, int64_t cols,
                                            const float* __restrict w, const float* __restrict out_bias, int64_t out_dim, float* __restrict out) {
  const vec::FlushDenormals flush;
  for (int64_t r = 0; r < rows; ++r) {  // row by row, the output while the row's activations are in cache
    silu_forward_bias(x + r * cols, bias, 1, cols);
    out_row(x + r * cols, cols, w, out_bias, out_dim, out + r * out_dim);
  }
}

LS_VECTOR_KERNEL void silu_forward_bias_slope_out(float* __restrict pre, const float* __restrict bias, float* __restrict act, int64_t rows,
                                                  int64_t cols, const float* __restrict w, const float* __restrict out_bias, int64_t out_dim,
                                                  float* __restrict out) {
  const vec::FlushDenormals flush;
  for (int64_t r = 0; r < rows; ++r) {  // row by row, the output while the row's activations are in cache
    float* a = act + r * cols;
    silu_forward_bias_slope(pre + r * cols, bias, a, 1, cols);
    out_row(a, cols, w, out_bias, out_dim, out + r * out_dim);
  }
}

}  // namespace lockstep
