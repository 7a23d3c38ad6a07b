// SiLU forward and backward for the fused MLP step (common/model/mlp_step), each one pass over memory.
// silu_forward and silu_backward are the definitions, element by element (tested against float64).
//
// Contract: silu_forward writes act[i] = pre[i] * sigmoid(pre[i]) for i in [0, n); silu_backward multiplies
// grad[i] in place by silu'(pre[i]) = s (1 + pre[i] (1 - s)), s = sigmoid(pre[i]), with 1 - s computed as e s, e = exp(-pre[i])
// (no cancellation for large pre), recomputing s instead of
// reading a stored copy (a pass over memory costs more than an exp). The sigmoid uses a polynomial exp
// (Cephes' expf: within 2 ulp of std::exp on its whole range; arguments clamped to [-88, 88], where the sigmoid
// is 0 or 1 to float precision; NaN propagates) written so that the compiler vectorizes it; each function is
// compiled for AVX-512, AVX2 and plain x86-64 and the loader picks the best the CPU has (GCC target_clones).
// The buffers may not overlap except as stated (grad is read and written). No allocation, no threads: the
// caller splits rows across threads.
#pragma once

#include <cstdint>

namespace lockstep {

void silu_forward(const float* pre, float* act, int64_t n);
void silu_backward(const float* pre, float* grad, int64_t n);
// Row-major [rows, cols] forms for a layer of the fused MLP step. silu_forward_bias_slope adds bias[c] to every row of
// pre, writes act = SiLU(z) for the sum z, and overwrites pre with the slope SiLU'(z) = s (1 + z e s) (s = sigmoid(z),
// e = exp(-z), so e s = 1 - s without cancellation): the factor the backward pass multiplies by, computed here where
// the sigmoid is at hand instead of again from z there (the numbers silu_backward would compute from z, bit for
// bit). scale_colsum multiplies grad by slope elementwise and adds each column's sum of the result, in float64 row
// by row, to colsum[c] (the layer's bias gradient).
void silu_forward_bias_slope(float* pre, const float* bias, float* act, int64_t rows, int64_t cols);
// The same without the slope, in place (inference: the MLP's forward without autograd): x = SiLU(x + bias[c]).
void silu_forward_bias(float* x, const float* bias, int64_t rows, int64_t cols);
void scale_colsum(const float* slope, float* grad, int64_t rows, int64_t cols, double* colsum);
// The sigmoid the two functions use, one element (for tests).
float sigmoid_poly(float x);

}  // namespace lockstep
