#include "common/kernels/sincos.h"

#include <cmath>

#include "common/kernels/vec_math.h"

namespace lockstep {
namespace {

constexpr float kMaxReduced = 8192.0f;  // Cephes' bound for its three-part reduction

// Cephes sinf/cosf for |x| <= kMaxReduced, branch-free so that the row loop vectorizes: x = y pi/4 + z with y the
// octant rounded up to even, |z| <= pi/4, then the sine or cosine polynomial of z by the octant, and the signs.
__attribute__((always_inline)) inline void sincos_reduced(float x, float& s, float& c) {
  const float ax = std::fabs(x);
  const float a = ax <= kMaxReduced ? ax : 0.0f;  // out of range (and NaN) fixed up by the caller
  int32_t j = static_cast<int32_t>(a * 1.27323954473516f);  // 4 / pi
  j = (j + 1) & ~1;
  const float y = static_cast<float>(j);
  const float z = ((a - y * 0.78515625f) - y * 2.4187564849853515625e-4f) - y * 3.77489497744594108e-8f;
  const float zz = z * z;
  const float sp = ((-1.9515295891e-4f * zz + 8.3321608736e-3f) * zz - 1.6666654611e-1f) * zz * z + z;
  const float cp = ((2.443315711809948e-5f * zz - 1.388731625493765e-3f) * zz + 4.166664568298827e-2f) * zz * zz - 0.5f * zz + 1.0f;
  // octant j in {0, 2, 4, 6} (mod 8): sin = sp, cp, -sp, -cp; cos = cp, -sp, -cp, sp
  const bool swap = (j & 2) != 0;
  float sv = swap ? cp : sp, cv = swap ? sp : cp;
  sv = (j & 4) != 0 ? -sv : sv;
  cv = ((j + 2) & 4) != 0 ? -cv : cv;
  s = x < 0.0f ? -sv : sv;
  c = cv;
}

}  // namespace

void sin_cos_poly(float x, float* sin_x, float* cos_x) {
  if (!(std::fabs(x) <= kMaxReduced)) {
    *sin_x = std::sin(x);
    *cos_x = std::cos(x);
    return;
  }
  sincos_reduced(x, *sin_x, *cos_x);
}

LS_VECTOR_KERNEL void sinusoidal_rows(const float* __restrict t, const float* __restrict freqs, int64_t rows, int64_t half, float* __restrict out,
                                      int64_t stride) {
  const vec::FlushDenormals flush;
  for (int64_t r = 0; r < rows; ++r) {
    float *s = out + r * stride, *c = s + half;
    const float tr = t[r];
    for (int64_t j = 0; j < half; ++j) sincos_reduced(tr * freqs[j], s[j], c[j]);
    for (int64_t j = 0; j < half; ++j) {  // rare: a huge time or frequency, inf, NaN
      const float x = tr * freqs[j];
      if (!(std::fabs(x) <= kMaxReduced)) {
        s[j] = std::sin(x);
        c[j] = std::cos(x);
      }
    }
  }
}

}  // namespace lockstep
