#include "common/kernels/silu_rows.h"

#if LOCKSTEP_X86_KERNELS
#include <immintrin.h>
#endif

#include <atomic>

#include "common/kernels/vec_math.h"

namespace lockstep {
namespace {

#if LOCKSTEP_X86_KERNELS
#define LS_AVX512 __attribute__((target("avx512f")))

// vec::exp_poly on 16 lanes: the same clamp, reduction and polynomial; 2^k applied by vscalefps
LS_AVX512 inline __m512 exp16(__m512 x) {
  x = _mm512_min_ps(_mm512_set1_ps(88.0f), _mm512_max_ps(_mm512_set1_ps(-88.0f), x));  // NaN (second operand) passes
  const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, k);
}

// 1 / d: the 14-bit estimate and one Newton step
LS_AVX512 inline __m512 reciprocal16(__m512 d) {
  const __m512 y = _mm512_rcp14_ps(d);
  return _mm512_mul_ps(y, _mm512_fnmadd_ps(d, y, _mm512_set1_ps(2.0f)));
}

LS_AVX512 inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? __mmask16{0xffff} : static_cast<__mmask16>((1u << left) - 1u); }

// 16 numbers of a row: z = x + bias, act = SiLU(z) (over x, or into act with the slope over x when kSlope), and
// acc[k] += act w_k for the OD rows of w (masked lanes add 0)
template <bool kSlope, int OD>
LS_AVX512 inline void step16(float* x, const float* bias, float* act, const float* w, int64_t cols, __m512* acc, __mmask16 m) {
  const __m512 nz = _mm512_fnmsub_ps(_mm512_maskz_loadu_ps(m, x), _mm512_set1_ps(1.0f), _mm512_maskz_loadu_ps(m, bias));  // -z, exactly
  const __m512 e = exp16(nz);
  const __m512 s = reciprocal16(_mm512_add_ps(e, _mm512_set1_ps(1.0f)));
  const __m512 a = _mm512_fnmadd_ps(nz, s, _mm512_setzero_ps());  // z s
  if (kSlope) {
    _mm512_mask_storeu_ps(act, m, a);
    _mm512_mask_storeu_ps(x, m, _mm512_fmadd_ps(a, _mm512_mul_ps(e, s), s));  // s (1 + z e s) = s + (z s)(e s)
  } else {
    _mm512_mask_storeu_ps(x, m, a);
  }
  for (int k = 0; k < OD; ++k) acc[k] = _mm512_fmadd_ps(a, _mm512_maskz_loadu_ps(m, w + k * cols), acc[k]);
}

// a row, four independent vectors a step (the sigmoid is one long dependency chain), then one at a time, the tail
// masked; with OD > 0, out[k] = out_bias[k] + the row's dot product with w_k, its 16 lanes (element c in lane
// c mod 16, in order) added in double in lane order, as vec::lane_sum adds them
template <bool kSlope, int OD>
LS_AVX512 void row_avx512(float* x, const float* bias, float* act, int64_t cols, const float* w, const float* out_bias, float* out) {
  __m512 acc[OD > 0 ? OD : 1];
  for (int k = 0; k < OD; ++k) acc[k] = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 64 <= cols; c += 64)
    for (int64_t q = c; q < c + 64; q += 16) step16<kSlope, OD>(x + q, bias + q, act + q, w + q, cols, acc, 0xffff);
  for (; c < cols; c += 16) step16<kSlope, OD>(x + c, bias + c, act + c, w + c, cols, acc, tail_mask(cols - c));
  for (int k = 0; k < OD; ++k) {
    alignas(64) float lanes[16];
    _mm512_store_ps(lanes, acc[k]);
    double total = 0.0;
    for (float l : lanes) total += l;
    out[k] = out_bias[k] + static_cast<float>(total);
  }
}

constexpr int64_t kMaxFusedOut = 4;  // dot products kept in registers beside the SiLU's

template <bool kSlope>
LS_AVX512 void out_row_avx512(float* x, const float* bias, float* act, int64_t cols, const float* w, const float* out_bias, int64_t out_dim,
                              float* out) {
  switch (out_dim) {
    case 1: row_avx512<kSlope, 1>(x, bias, act, cols, w, out_bias, out); break;
    case 2: row_avx512<kSlope, 2>(x, bias, act, cols, w, out_bias, out); break;
    case 3: row_avx512<kSlope, 3>(x, bias, act, cols, w, out_bias, out); break;
    default: row_avx512<kSlope, 4>(x, bias, act, cols, w, out_bias, out); break;
  }
}
#endif  // LOCKSTEP_X86_KERNELS

LS_VECTOR_KERNEL void slope_row_portable(float* __restrict pre, const float* __restrict bias, float* __restrict act, int64_t cols) {
  for (int64_t c = 0; c < cols; ++c) {
    const float z = pre[c] + bias[c];
    const float e = vec::exp_poly(-z), s = vec::sigmoid_from_exp(e);
    act[c] = z * s;
    pre[c] = s * (1.0f + z * (e * s));  // as silu_backward computes it
  }
}

LS_VECTOR_KERNEL void silu_row_portable(float* __restrict x, const float* __restrict bias, int64_t cols) {
  for (int64_t c = 0; c < cols; ++c) {
    const float z = x[c] + bias[c];
    x[c] = z * vec::sigmoid(z);
  }
}

// out[k] = out_bias[k] + sum_c a[c] w[k][c], each sum as vec::lane_sum adds it
LS_VECTOR_KERNEL void out_dots_portable(const float* __restrict a, int64_t cols, const float* __restrict w, const float* __restrict out_bias,
                                        int64_t out_dim, float* __restrict out) {
  for (int64_t k = 0; k < out_dim; ++k) {
    const float* wk = w + k * cols;
    out[k] = out_bias[k] + static_cast<float>(vec::lane_sum(cols, [&](int64_t c) { return a[c] * wk[c]; }));
  }
}

#if LOCKSTEP_X86_KERNELS
const bool kHaveAvx512 = [] {
  __builtin_cpu_init();  // this runs among the static constructors
  return __builtin_cpu_supports("avx512f") != 0;
}();
#else
constexpr bool kHaveAvx512 = false;
#endif
std::atomic<bool> g_avx512{kHaveAvx512};

}  // namespace

void silu_bias_row(float* x, const float* bias, int64_t cols) {
#if LOCKSTEP_X86_KERNELS
  if (g_avx512.load(std::memory_order_relaxed)) {
    row_avx512<false, 0>(x, bias, nullptr, cols, nullptr, nullptr, nullptr);
    return;
  }
#endif
  silu_row_portable(x, bias, cols);
}

void silu_bias_slope_row(float* pre, const float* bias, float* act, int64_t cols) {
#if LOCKSTEP_X86_KERNELS
  if (g_avx512.load(std::memory_order_relaxed)) {
    row_avx512<true, 0>(pre, bias, act, cols, nullptr, nullptr, nullptr);
    return;
  }
#endif
  slope_row_portable(pre, bias, act, cols);
}

void silu_bias_out_row(float* x, const float* bias, int64_t cols, const float* w, const float* out_bias, int64_t out_dim, float* out) {
#if LOCKSTEP_X86_KERNELS
  if (g_avx512.load(std::memory_order_relaxed) && out_dim <= kMaxFusedOut) {
    out_row_avx512<false>(x, bias, nullptr, cols, w, out_bias, out_dim, out);
    return;
  }
#endif
  silu_bias_row(x, bias, cols);
  out_dots_portable(x, cols, w, out_bias, out_dim, out);
}

void silu_bias_slope_out_row(float* pre, const float* bias, float* act, int64_t cols, const float* w, const float* out_bias, int64_t out_dim,
                             float* out) {
#if LOCKSTEP_X86_KERNELS
  if (g_avx512.load(std::memory_order_relaxed) && out_dim <= kMaxFusedOut) {
    out_row_avx512<true>(pre, bias, act, cols, w, out_bias, out_dim, out);
    return;
  }
#endif
  silu_bias_slope_row(pre, bias, act, cols);
  out_dots_portable(act, cols, w, out_bias, out_dim, out);
}

bool silu_rows_avx512(bool use) {
  const bool before = g_avx512.load();
  g_avx512.store(use && kHaveAvx512);
  return before;
}

bool silu_rows_use_avx512() { return g_avx512.load(std::memory_order_relaxed); }

}  // namespace lockstep
