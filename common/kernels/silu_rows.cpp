#include "common/kernels/silu_rows.h"

#include <immintrin.h>

#include <atomic>

#include "common/kernels/vec_math.h"

namespace lockstep {
namespace {

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

// s = sigmoid(z) and e = exp(-z)
LS_AVX512 inline __m512 sigmoid16(__m512 z, __m512* e) {
  *e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), z));
  return reciprocal16(_mm512_add_ps(*e, _mm512_set1_ps(1.0f)));
}

LS_AVX512 inline void slope16(float* pre, const float* bias, float* act, __mmask16 m) {
  const __m512 z = _mm512_add_ps(_mm512_maskz_loadu_ps(m, pre), _mm512_maskz_loadu_ps(m, bias));
  __m512 e;
  const __m512 s = sigmoid16(z, &e);
  _mm512_mask_storeu_ps(act, m, _mm512_mul_ps(z, s));
  _mm512_mask_storeu_ps(pre, m, _mm512_mul_ps(s, _mm512_fmadd_ps(z, _mm512_mul_ps(e, s), _mm512_set1_ps(1.0f))));
}

LS_AVX512 inline void silu16(float* x, const float* bias, __mmask16 m) {
  const __m512 z = _mm512_add_ps(_mm512_maskz_loadu_ps(m, x), _mm512_maskz_loadu_ps(m, bias));
  __m512 e;
  _mm512_mask_storeu_ps(x, m, _mm512_mul_ps(z, sigmoid16(z, &e)));
}

LS_AVX512 inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? __mmask16{0xffff} : static_cast<__mmask16>((1u << left) - 1u); }

// four independent vectors a step (the sigmoid is one long dependency chain), then one at a time, the tail masked
LS_AVX512 void slope_row_avx512(float* pre, const float* bias, float* act, int64_t cols) {
  int64_t c = 0;
  for (; c + 64 <= cols; c += 64)
    for (int64_t q = c; q < c + 64; q += 16) slope16(pre + q, bias + q, act + q, 0xffff);
  for (; c < cols; c += 16) slope16(pre + c, bias + c, act + c, tail_mask(cols - c));
}

LS_AVX512 void silu_row_avx512(float* x, const float* bias, int64_t cols) {
  int64_t c = 0;
  for (; c + 64 <= cols; c += 64)
    for (int64_t q = c; q < c + 64; q += 16) silu16(x + q, bias + q, 0xffff);
  for (; c < cols; c += 16) silu16(x + c, bias + c, tail_mask(cols - c));
}

LS_VECTOR_KERNEL void slope_row_portable(float* __restrict pre, const float* __restrict bias, float* __restrict act, int64_t cols) {
  for (int64_t c = 0; c < cols; ++c) {
    const float z = pre[c] + bias[c];
    const float e = vec::exp_poly(-z), s = 1.0f / (1.0f + e);
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

const bool kHaveAvx512 = [] {
  __builtin_cpu_init();  // this runs among the static constructors
  return __builtin_cpu_supports("avx512f") != 0;
}();
std::atomic<bool> g_avx512{kHaveAvx512};

}  // namespace

void silu_bias_row(float* x, const float* bias, int64_t cols) {
  if (g_avx512.load(std::memory_order_relaxed)) silu_row_avx512(x, bias, cols);
  else silu_row_portable(x, bias, cols);
}

void silu_bias_slope_row(float* pre, const float* bias, float* act, int64_t cols) {
  if (g_avx512.load(std::memory_order_relaxed)) slope_row_avx512(pre, bias, act, cols);
  else slope_row_portable(pre, bias, act, cols);
}

bool silu_rows_avx512(bool use) {
  const bool before = g_avx512.load();
  g_avx512.store(use && kHaveAvx512);
  return before;
}

}  // namespace lockstep
