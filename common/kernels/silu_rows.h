// One row of the MLP's SiLU passes, shared by the row kernels of silu.h and mlp_out.h (internal to common/kernels/).
//
// Contract: silu_bias_row: x[c] = SiLU(x[c] + bias[c]); silu_bias_slope_row: with z = pre[c] + bias[c],
// act[c] = SiLU(z) and pre[c] = SiLU'(z) = s (1 + z e s), s = 1 / (1 + e), e = exp(-z) (e s is 1 - s without
// cancellation; the AVX-512 code adds it as s + (z s)(e s)), the exp being vec::exp_poly's. On a CPU with AVX-512
// the rows run through hand-written AVX-512 code (built with LOCKSTEP_X86_KERNELS): the sigmoid's division is a
// 14-bit reciprocal and one Newton step (within 1 ulp of the quotient), the exp's 2^k a vscalefps, four vectors a
// step; elsewhere through vec_math.h's scalar code, vectorized by the compiler for its target. The caller holds a
// vec::FlushDenormals guard. cols may be anything (masked tails).
#pragma once

#include <cstdint>

namespace lockstep {

void silu_bias_row(float* x, const float* bias, int64_t cols);
void silu_bias_slope_row(float* pre, const float* bias, float* act, int64_t cols);
// The same, then a narrow output layer on the row's activations: out[k] = out_bias[k] + sum_c act[c] w[k][c],
// k < out_dim (w: [out_dim, cols]), each sum in 16 float lanes (element c in lane c mod 16, in order), the lanes then
// added in double in lane order, as vec::lane_sum adds them. Through AVX-512, up to 4 outputs accumulate in the
// SiLU's own pass (a row's tail, cols mod 16, rides in the lanes there; lane_sum adds it in double).
void silu_bias_out_row(float* x, const float* bias, int64_t cols, const float* w, const float* out_bias, int64_t out_dim, float* out);
void silu_bias_slope_out_row(float* pre, const float* bias, float* act, int64_t cols, const float* w, const float* out_bias, int64_t out_dim,
                             float* out);
// For tests of both paths: use the AVX-512 code (where the CPU has it and the build has LOCKSTEP_X86_KERNELS) or
// not; returns whether it was in use.
bool silu_rows_avx512(bool use);
// Whether the AVX-512 code is in use.
bool silu_rows_use_avx512();

}  // namespace lockstep
