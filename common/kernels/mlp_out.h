// The fused MLP step's narrow output layer (common/model/mlp_step), folded into the SiLU pass of the last hidden
// layer: a product with only out_dim (2 for 2-D data) columns runs far below the SGEMM's speed, while the pass has
// each row of activations in cache anyway.
//
// Contract, row-major float32, rows x cols activations, out_dim <= kMaxOutDim outputs: silu_forward_bias_slope_out
// does silu_forward_bias_slope (silu.h) on pre, then out[r][k] = out_bias[k] + sum_c act[r][c] w[k][c] (w:
// [out_dim, cols], the layer's weight) for every row r, the sum over c in 16 float lanes, then double, in a fixed
// order (silu_rows.h: the same numbers for any split of the rows; on AVX-512, up to 4 outputs accumulate within the
// SiLU's own pass); silu_forward_bias_out does the same after silu_forward_bias (in place on x, no slope:
// inference). Denormals are flushed (vec_math.h). No allocation, no threads.
//
// mlp_out_backward is the same layer's backward, in one pass over the rows (it replaces two products of inner size
// out_dim, which run at memory speed, and the scaling pass below them). For every row r, with g = grad_out[r]
// (out_dim numbers):
//   gin[r][c] = slope[r][c] * sum_k g[k] w[k][c]  (k in order: the gradient at the SiLU below, through it)
//   colsum[c] += gin[r][c]                         (double: the bias gradient of the layer below)
//   dw[k][c] += g[k] act[r][c]                     (float, rows in order: the output weight's gradient)
// The caller gives each chunk of rows its own colsum and dw and adds the chunks in a fixed order (the same numbers
// for any thread count).
#pragma once

#include <cstdint>

namespace lockstep {

constexpr int64_t kMaxOutDim = 16;

void silu_forward_bias_slope_out(float* pre, const float* bias, float* act, int64_t rows, int64_t cols, const float* w,
                                 const float* out_bias, int64_t out_dim, float* out);
void mlp_out_backward(const float* grad_out, const float* w, const float* act, const float* slope, float* gin, int64_t rows, int64_t cols,
                      int64_t out_dim, double* colsum, float* dw);
void silu_forward_bias_out(float* x, const float* bias, int64_t rows, int64_t cols, const float* w, const float* out_bias, int64_t out_dim,
                           float* out);

}  // namespace lockstep
