// SiLU passes of the hand-written MLP (common/model/mlp_step.h trains with them, common/model/mlp.h infers with them),
// each one pass over memory.
//
// Contract: the sigmoid uses a polynomial exp (Cephes' expf: within 2 ulp of std::exp on its whole range; arguments
// clamped to [-88, 88], where the sigmoid is 0 or 1 to float precision; NaN propagates) written so that the compiler
// vectorizes it; with LOCKSTEP_X86_KERNELS silu_forward, silu_backward and scale_colsum are compiled for AVX-512, AVX2
// and plain x86-64 and the loader picks the best the CPU has (GCC target_clones); the row forms with a bias go
// through silu_rows.h (hand-written AVX-512 where the CPU has it). Denormal results are flushed to zero on x86-64
// (vec_math.h). Buffers may not overlap except as stated. No allocation, no threads: the caller splits rows across
// threads.
// - silu_forward writes act[i] = pre[i] sigmoid(pre[i]); silu_backward multiplies grad[i] in place by
//   silu'(pre[i]) = s (1 + pre[i] e s), s = sigmoid(pre[i]), e = exp(-pre[i]) (e s is 1 - s without cancellation for
//   large pre). These are the definitions, element by element, tested against float64.
#pragma once

#include <cstdint>

namespace lockstep {

void silu_forward(const float* pre, float* act, int64_t n);
void silu_backward(const float* pre, float* grad, int64_t n);
// Row-major [rows, cols] forms for a layer. silu_forward_bias_slope adds bias[c] to every row of pre, writes
// act = SiLU(z) for the sum z, and overwrites pre with the slope SiLU'(z), the expression silu_backward evaluates: the
// factor the backward pass multiplies by, computed here where the sigmoid is at hand (recomputing it in the backward
// pass cost an exp per element there). scale_colsum multiplies grad by slope elementwise and adds each column's sum
// of the result, in float64 row by row, to colsum[c] (the layer's bias gradient).
void silu_forward_bias_slope(float* pre, const float* bias, float* act, int64_t rows, int64_t cols);
// The same without the slope, in place (inference: the MLP's forward without autograd): x = SiLU(x + bias[c]).
void silu_forward_bias(float* x, const float* bias, int64_t rows, int64_t cols);
void scale_colsum(const float* slope, float* grad, int64_t rows, int64_t cols, double* colsum);
// The sigmoid these functions use, one element (for tests).
float sigmoid_poly(float x);

}  // namespace lockstep
