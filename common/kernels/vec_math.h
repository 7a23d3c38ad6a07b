// Inline scalar math written so that GCC vectorizes the loops that call it (no libm calls, no branches):
// exp, the sigmoid, bfloat16 <-> float32 and lane sums. Internal to common/kernels/ (the SiLU's row loops are in
// silu_rows.h).
//
// Contract: exp_poly(x) is Cephes' expf (within 2 ulp of exp) for x in [-88, 88] and clamps x to that range
// (NaN passes through); bf16 conversions round to nearest even and keep NaN a NaN. Every kernel body opens with
// a FlushDenormals guard: with LOCKSTEP_X86_KERNELS, results below FLT_MIN (1.2e-38) become 0 there, and nothing
// else changes; without, it does nothing (denormals are kept, the results differ only below FLT_MIN).
#pragma once

#include <cstdint>
#include <cstring>

#if LOCKSTEP_X86_KERNELS
#include <xmmintrin.h>
// A function compiled for AVX-512, AVX2 + FMA and plain x86-64; the loader picks the best the CPU has.
#define LS_VECTOR_KERNEL __attribute__((target_clones("avx512f", "arch=x86-64-v3", "default")))
#else
// Portable: compiled once, for the compiler's target.
#define LS_VECTOR_KERNEL
#endif
// The files of common/kernels/ compile with -O3 -fno-trapping-math -fno-math-errno (CMakeLists.txt): without the
// second GCC does not turn the clamps and selects into vector blends, without the third it calls libm's sqrtf for
// every element that might be negative (to set errno) and vectorizes nothing around a square root (Adam); nothing
// here reads floating-point exception flags or errno.

namespace lockstep::vec {

// Flush-to-zero and denormals-are-zero (MXCSR) on the calling thread for the guard's scope, the previous mode
// restored after (x86-64 builds; elsewhere a no-op). Why: GCC if-converts the clamps of exp_poly by computing every
// branch for every lane, and one branch of the SiLU (z times the sigmoid of -88) is a denormal for every ordinary z;
// Intel cores take a microcode assist for each denormal result (docs/performance.md, "Denormal flushing").
class FlushDenormals {
 public:
#if LOCKSTEP_X86_KERNELS
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtzDaz); }
  ~FlushDenormals() { _mm_setcsr(saved_); }
#else
  FlushDenormals() {}  // user-provided: a const guard needs no initializer
#endif
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

#if LOCKSTEP_X86_KERNELS
 private:
  static constexpr unsigned kFtzDaz = 0x8040;  // bit 15: flush to zero; bit 6: denormal inputs are zero
  unsigned saved_;
#endif
};

inline float exp_poly(float x) {
  // clamp; NaN compares false both ways and passes through (written as two selects, which GCC if-converts)
  x = x < -88.0f ? -88.0f : x;
  x = x > 88.0f ? 88.0f : x;
  // exp(x) = 2^k exp(r), k = round(x / ln 2), r = x - k ln 2 in [-ln2/2, ln2/2]
  const float round_magic = 12582912.0f;  // 1.5 * 2^23: adding and subtracting it rounds to an integer
  const float k = (x * 1.44269504088896341f + round_magic) - round_magic;
  const float r = (x - k * 0.693359375f) - k * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  // 2^k as a float: k in [-127, 127]; k = -127 gives the bit pattern 0, i.e. 0 (exp(-88) is below FLT_MIN anyway)
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// 0 for a result below FLT_MIN (a denormal): what FlushDenormals does in x86-64 builds, written out elsewhere, so that
// the clamped tail of the sigmoid (1 / (1 + exp(88)), a denormal) is 0 on every CPU. x >= 0.
inline float flush_tiny(float x) {
#if LOCKSTEP_X86_KERNELS
  return x;  // the FlushDenormals guard has flushed it already
#else
  return x < 1.17549435e-38f ? 0.0f : x;
#endif
}

// The sigmoid 1 / (1 + e) from e = exp_poly(-x).
inline float sigmoid_from_exp(float e) { return flush_tiny(1.0f / (1.0f + e)); }
inline float sigmoid(float x) { return sigmoid_from_exp(exp_poly(-x)); }

// sum of f(i) for i in [0, n): 16 float lanes of consecutive i (independent partial sums, which the compiler keeps in
// vector registers), then the tail and the lanes added up in double, in a fixed order
template <typename F>
inline double lane_sum(int64_t n, const F& f) {
  constexpr int kLanes = 16;
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += f(i + l);
  double total = 0.0;
  for (; i < n; ++i) total += f(i);
  for (float a : acc) total += a;
  return total;
}

inline float from_bf16(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
  return static_cast<uint16_t>(f != f ? 0x7fc0u : rounded);
}

}  // namespace lockstep::vec
