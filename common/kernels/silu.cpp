#include "common/kernels/silu.h"

#include <cstring>

namespace lockstep {
namespace {

// exp(x) = 2^k exp(r), k = round(x / ln 2), r = x - k ln 2 in [-ln2/2, ln2/2]; Cephes' expf polynomial for exp(r).
inline float exp_poly(float x) {
  x = x < -88.0f ? -88.0f : (x > 88.0f ? 88.0f : x);  // NaN compares false both ways and passes through
  const float round_magic = 12582912.0f;                // 1.5 * 2^23: adding and subtracting it rounds to integer
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

inline float sigmoid(float x) { return 1.0f / (1.0f + exp_poly(-x)); }

}  // namespace

float sigmoid_poly(float x) { return sigmoid(x); }

__attribute__((target_clones("avx512f", "arch=x86-64-v3", "default"), optimize("O3"))) void silu_forward(const float* __restrict pre,
                                                                                                  float* __restrict act,
                                                                                                  int64_t n) {
  for (int64_t i = 0; i < n; ++i) act[i] = pre[i] * sigmoid(pre[i]);
}

__attribute__((target_clones("avx512f", "arch=x86-64-v3", "default"), optimize("O3"))) void silu_backward(const float* __restrict pre,
                                                                                                   float* __restrict grad,
                                                                                                   int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float e = exp_poly(-pre[i]), s = 1.0f / (1.0f + e);
    grad[i] *= s * (1.0f + pre[i] * (e * s));  // 1 - s = e s, without the cancellation of 1 - s for large pre
  }
}

}  // namespace lockstep
