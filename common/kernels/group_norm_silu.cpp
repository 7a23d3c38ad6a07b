#include "common/kernels/group_norm_silu.h"

#include <algorithm>
#include <cmath>

#include "common/kernels/vec_math.h"

namespace lockstep {
namespace {

constexpr int64_t kChunk = 256;  // rows of a float buffer between the bfloat16 conversions and the exp

using vec::lane_sum;

}  // namespace

float bf16_to_float(uint16_t b) { return vec::from_bf16(b); }
uint16_t float_to_bf16(float f) { return vec::to_bf16(f); }

LS_VECTOR_KERNEL void group_norm_silu_forward(const NormActShape& s, const uint16_t* __restrict x, const float* __restrict shift,
                                              const float* __restrict gamma, const float* __restrict beta, uint16_t* __restrict y,
                                              float* __restrict mean, float* __restrict rstd) {
  const vec::FlushDenormals flush;
  const int64_t per_group = s.channels / s.groups, m = per_group * s.hw;
  auto shift_of = [&](int64_t c) { return shift ? shift[c] : 0.0f; };
  for (int64_t g = 0; g < s.groups; ++g) {
    const int64_t c0 = g * per_group, c1 = c0 + per_group;
    double total = 0.0;
    for (int64_t c = c0; c < c1; ++c) {
      const uint16_t* xc = x + c * s.hw;
      total += lane_sum(s.hw, [&](int64_t i) { return vec::from_bf16(xc[i]); }) + static_cast<double>(shift_of(c)) * s.hw;
    }
    const float mu = static_cast<float>(total / static_cast<double>(m));
    double squares = 0.0;
    for (int64_t c = c0; c < c1; ++c) {
      const uint16_t* xc = x + c * s.hw;
      const float centre = mu - shift_of(c);
      squares += lane_sum(s.hw, [&](int64_t i) {
        const float d = vec::from_bf16(xc[i]) - centre;
        return d * d;
      });
    }
    const float r = static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(m) + static_cast<double>(s.eps)));
    mean[g] = mu;
    rstd[g] = r;
    for (int64_t c = c0; c < c1; ++c) {
      const float a = gamma[c] * r, b = beta[c] + (shift_of(c) - mu) * a;  // act(x a + b) = act(gamma (x + shift - mu) r + beta)
      const uint16_t* xc = x + c * s.hw;
      uint16_t* yc = y + c * s.hw;
      if (s.silu) {
        // in chunks through a float buffer: three simple loops vectorize far better than one that mixes the
        // bfloat16 conversions with the exp (measured 4x)
        float buf[kChunk];
        for (int64_t i0 = 0; i0 < s.hw; i0 += kChunk) {
          const int64_t len = std::min<int64_t>(kChunk, s.hw - i0);
          for (int64_t i = 0; i < len; ++i) buf[i] = vec::from_bf16(xc[i0 + i]) * a + b;
          for (int64_t i = 0; i < len; ++i) buf[i] *= vec::sigmoid(buf[i]);
          for (int64_t i = 0; i < len; ++i) yc[i0 + i] = vec::to_bf16(buf[i]);
        }
      } else {
        for (int64_t i = 0; i < s.hw; ++i) yc[i] = vec::to_bf16(vec::from_bf16(xc[i]) * a + b);
      }
    }
  }
}

LS_VECTOR_KERNEL void group_norm_silu_backward(const NormActShape& s, const uint16_t* __restrict x, const float* __restrict shift,
                                               const uint16_t* __restrict dy, const float* __restrict gamma, const float* __restrict beta,
                                               const float* __restrict mean, const float* __restrict rstd, uint16_t* __restrict dx,
                                               float* __restrict dshift, float* __restrict dgamma, float* __restrict dbeta,
                                               float* __restrict scratch) {
  const vec::FlushDenormals flush;
  const int64_t per_group = s.channels / s.groups, m = per_group * s.hw;
  auto shift_of = [&](int64_t c) { return shift ? shift[c] : 0.0f; };
  for (int64_t g = 0; g < s.groups; ++g) {
    const float mu = mean[g], r = rstd[g];
    const int64_t c0 = g * per_group, c1 = c0 + per_group;
    // pass 1: dz = dy act'(z) into scratch; per channel sum(dz) (dbeta) and sum(dz xhat) (dgamma)
    double sum_gdz = 0.0, sum_gdzx = 0.0;  // sums over the group of gamma dz and gamma dz xhat
    for (int64_t c = c0; c < c1; ++c) {
      const float centre = mu - shift_of(c);  // xhat = (x - centre) r
      const float a = gamma[c] * r, b = beta[c] - centre * a;
      const uint16_t *xc = x + c * s.hw, *dyc = dy + c * s.hw;
      float* dz = scratch + (c - c0) * s.hw;
      if (s.silu) {
        float z[kChunk];  // as in the forward pass: conversions and the exp in separate loops
        for (int64_t i0 = 0; i0 < s.hw; i0 += kChunk) {
          const int64_t len = std::min<int64_t>(kChunk, s.hw - i0);
          for (int64_t i = 0; i < len; ++i) z[i] = vec::from_bf16(xc[i0 + i]) * a + b;
          for (int64_t i = 0; i < len; ++i) dz[i0 + i] = vec::from_bf16(dyc[i0 + i]);
          for (int64_t i = 0; i < len; ++i) {
            const float e = vec::exp_poly(-z[i]), sg = vec::sigmoid_from_exp(e);
            dz[i0 + i] *= sg * (1.0f + z[i] * (e * sg));  // silu'(z) = s (1 + z (1 - s)), 1 - s = e s
          }
        }
      } else {
        for (int64_t i = 0; i < s.hw; ++i) dz[i] = vec::from_bf16(dyc[i]);
      }
      const double sdz = lane_sum(s.hw, [&](int64_t i) { return dz[i]; });
      const double sdzx = lane_sum(s.hw, [&](int64_t i) { return dz[i] * ((vec::from_bf16(xc[i]) - centre) * r); });
      dbeta[c] = static_cast<float>(sdz);
      dgamma[c] = static_cast<float>(sdzx);
      sum_gdz += gamma[c] * sdz;
      sum_gdzx += gamma[c] * sdzx;
    }
    // pass 2: dx = rstd (gamma dz - mean(gamma dz) - xhat mean(gamma dz xhat)); the shift's gradient is its sum
    const float m1 = static_cast<float>(sum_gdz / static_cast<double>(m)), m2 = static_cast<float>(sum_gdzx / static_cast<double>(m));
    for (int64_t c = c0; c < c1; ++c) {
      const float gc = gamma[c], centre = mu - shift_of(c);
      const uint16_t* xc = x + c * s.hw;
      const float* dz = scratch + (c - c0) * s.hw;
      uint16_t* dxc = dx + c * s.hw;
      for (int64_t i = 0; i < s.hw; ++i) {
        const float xhat = (vec::from_bf16(xc[i]) - centre) * r;
        dxc[i] = vec::to_bf16(r * (gc * dz[i] - m1 - xhat * m2));
      }
      if (dshift) {
        // sum_i dx_i = r (gamma_c sum(dz) - hw m1 - m2 sum(xhat)), in float64 from the channel's sums
        const double sum_xhat = (lane_sum(s.hw, [&](int64_t i) { return vec::from_bf16(xc[i]); }) - static_cast<double>(centre) * s.hw) * r;
        dshift[c] = static_cast<float>(r * (gc * static_cast<double>(dbeta[c]) - static_cast<double>(m1) * s.hw - m2 * sum_xhat));
      }
    }
  }
}

}  // namespace lockstep
