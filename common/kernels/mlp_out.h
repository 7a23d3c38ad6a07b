// The fused MLP step's narrow output layer (common/model/mlp_step), folded into the SiLU pass of the last hidden
// layer: a product with only out_dim (2 for 2-D data) columns runs far below the SGEMM's speed (15 GFLOP/s against
// 160 here, 0.28 ms for a 4096 x 256 batch), while the pass has each row of activations in cache anyway.
//
// Contract, row-major float32, rows x cols activations, out_dim <= kMaxOutDim outputs: silu_forward_bias_slope_out
// does silu_forward_bias_slope (silu.h) on pre, then out[r][k] = out_bias[k] + sum_c act[r][c] w[k][c] (w:
// [out_dim, cols], the layer's weight) for every row r, the sum over c as vec::lane_sum adds it (16 float lanes, then
// double, in a fixed order: the same numbers for any split of the rows); silu_forward_bias_out does the same after
// silu_forward_bias (in place on x, no slope: inference). Denormals are flushed (vec_math.h). No allocation, no
// threads.
#pragma once

#include <cstdint>

namespace lockstep {

constexpr int64_t kMaxOutDim = 16;

void silu_forward_bias_slope_out(float* pre, const float* bias, float* act, int64_t rows, int64_t cols, const float* w,
                                 const float* out_bias, int64_t out_dim, float* out);
void silu_forward_bias_out(float* x, const float* bias, int64_t rows, int64_t cols, const float* w, const float* out_bias, int64_t out_dim,
                           float* out);

}  // namespace lockstep
