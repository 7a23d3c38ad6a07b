// The sinusoidal time embedding [sin(t w_0) .. sin(t w_{h-1}), cos(t w_0) .. cos(t w_{h-1})] in one vectorized pass
// (common/model/mlp: the MLP's input, the U-Net's time input; the fast path kTimeEmbedding, fast_paths.h), in place
// of LibTorch's sin and cos.
//
// Contract: the argument is the float product t[r] * freqs[j], rounded as LibTorch's multiplication rounds it (the
// same arguments as t.unsqueeze(1) * freqs.unsqueeze(0)); for |argument| <= 8192 sine and cosine come from Cephes'
// sinf/cosf (octant reduction with a three-part pi/4, degree-7 and -8 polynomials: within 2 ulp, or 2e-7 absolute
// where the value is near 0); larger, infinite and NaN arguments go to std::sin / std::cos. Row r is written at
// out + r * stride: the h sines, then the h cosines. Compiled for AVX-512, AVX2 and plain x86-64 with
// LOCKSTEP_X86_KERNELS, else for the compiler's target (vec_math.h). No allocation, no threads: the caller splits
// rows.
#pragma once

#include <cstdint>

namespace lockstep {

void sinusoidal_rows(const float* t, const float* freqs, int64_t rows, int64_t half, float* out, int64_t stride);
// The pair for one argument, as sinusoidal_rows computes it (for tests).
void sin_cos_poly(float x, float* sin_x, float* cos_x);

}  // namespace lockstep
