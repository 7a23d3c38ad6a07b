// The fused SiLU kernels against double-precision references: every float in [-90, 90] on a fine grid, the
// clamped tails, NaN, and lengths that leave a remainder after the vectorized body; the row kernels through both
// their AVX-512 and their portable code.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "common/kernels/mlp_out.h"
#include "common/kernels/silu.h"
#include "common/kernels/silu_rows.h"

using namespace lockstep;

namespace {
double sigmoid_ref(double x) { return 1.0 / (1.0 + std::exp(-x)); }
}  // namespace

TEST_CASE("the polynomial sigmoid is within 2 ulp of the exact one", "[kernels]") {
  double worst = 0.0;
  for (float x = -80.0f; x <= 90.0f; x += 0.000731f) {
    const double ref = sigmoid_ref(x);
    worst = std::max(worst, std::fabs(sigmoid_poly(x) - ref) / ref);
  }
  CHECK(worst < 2.0 * std::numeric_limits<float>::epsilon());
  // the tails: 0 or 1 to float precision (below -80 the sigmoid is under 2e-35 and only absolutely accurate)
  for (float x : {-1e30f, -200.0f, -89.0f, -88.5f}) CHECK(sigmoid_poly(x) < 1e-37f);
  for (float x : {88.5f, 200.0f, 1e30f, std::numeric_limits<float>::infinity()}) CHECK(sigmoid_poly(x) == 1.0f);
  CHECK(sigmoid_poly(-std::numeric_limits<float>::infinity()) < 1e-37f);
  CHECK(std::isnan(sigmoid_poly(std::numeric_limits<float>::quiet_NaN())));
}

TEST_CASE("silu_forward and silu_backward match their definitions", "[kernels]") {
  for (int64_t n : {1, 15, 16, 17, 1000, 4099}) {
    INFO("n " << n);
    std::vector<float> pre(n), act(n, -7.0f), grad(n);
    for (int64_t i = 0; i < n; ++i) {
      pre[i] = static_cast<float>(-40.0 + 80.0 * static_cast<double>(i) / static_cast<double>(n)) * (i % 3 == 0 ? 0.05f : 1.0f);
      grad[i] = 0.5f + static_cast<float>(i % 7);
    }
    const std::vector<float> grad0 = grad;
    silu_forward(pre.data(), act.data(), n);
    silu_backward(pre.data(), grad.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double p = pre[i], s = sigmoid_ref(p);
      const double fwd = p * s, dsilu = s * (1.0 + p * (1.0 - s));
      CHECK(std::fabs(act[i] - fwd) <= 4e-7 * std::fabs(fwd) + 1e-30);
      // s (1 + p (1 - s)) is computed to a few ulp of its terms' sizes (it has a root near p = -1.28)
      CHECK(std::fabs(grad[i] - grad0[i] * dsilu) <= 6e-7 * std::fabs(grad0[i]) * s * (1.0 + std::fabs(p * (1.0 - s))) + 1e-30);
    }
  }
  float nan = std::numeric_limits<float>::quiet_NaN(), out = 0.0f, g = 1.0f;
  silu_forward(&nan, &out, 1);
  silu_backward(&nan, &g, 1);
  CHECK(std::isnan(out));
  CHECK(std::isnan(g));
}

TEST_CASE("the bias + SiLU row kernels match their definitions on both code paths", "[kernels]") {
  const bool initial = silu_rows_avx512(true);
  for (bool avx512 : {true, false}) {
    silu_rows_avx512(avx512);
    for (int64_t cols : {1, 15, 16, 17, 64, 100, 256}) {
      INFO("AVX-512 " << avx512 << ", cols " << cols);
      const int64_t rows = 3, n = rows * cols;
      std::vector<float> pre(n), bias(cols), act(n, -7.0f), x(n);
      for (int64_t c = 0; c < cols; ++c) bias[c] = 0.01f * static_cast<float>(c % 5) - 0.02f;
      for (int64_t i = 0; i < n; ++i) pre[i] = static_cast<float>(-45.0 + 90.0 * static_cast<double>(i) / static_cast<double>(n)) * (i % 3 == 0 ? 0.05f : 1.0f);
      if (n > 4) {  // the clamped tails and NaN
        pre[1] = -1e30f;
        pre[2] = 1e30f;
        pre[3] = std::numeric_limits<float>::quiet_NaN();
      }
      const std::vector<float> pre0 = pre;
      x = pre;
      silu_forward_bias_slope(pre.data(), bias.data(), act.data(), rows, cols);
      silu_forward_bias(x.data(), bias.data(), rows, cols);
      for (int64_t i = 0; i < n; ++i) {
        const float zf = pre0[i] + bias[i % cols];
        if (std::isnan(zf)) {
          CHECK(std::isnan(act[i]));
          CHECK(std::isnan(pre[i]));
          CHECK(std::isnan(x[i]));
          continue;
        }
        const double z = zf, s = sigmoid_ref(z), fwd = z * s, slope = s * (1.0 + z * (1.0 - s));
        CHECK(std::fabs(act[i] - fwd) <= 4e-7 * std::fabs(fwd) + 1e-30);
        CHECK(std::fabs(x[i] - fwd) <= 4e-7 * std::fabs(fwd) + 1e-30);
        CHECK(std::fabs(pre[i] - slope) <= 6e-7 * s * (1.0 + std::fabs(z * (1.0 - s))) + 1e-30);
      }
    }
  }
  silu_rows_avx512(initial);
}

TEST_CASE("the SiLU passes with a narrow output layer give its outputs on both code paths", "[kernels]") {
  const bool initial = silu_rows_avx512(true);
  for (bool avx512 : {true, false}) {
    silu_rows_avx512(avx512);
    for (int64_t cols : {7, 16, 100, 256}) {
      for (int64_t out_dim : {1, 2, 4, 5}) {  // 5: beyond the outputs the AVX-512 pass keeps in registers
        INFO("AVX-512 " << avx512 << ", cols " << cols << ", outputs " << out_dim);
        const int64_t rows = 5, n = rows * cols;
        std::vector<float> pre(n), bias(cols), act(n), w(out_dim * cols), out_bias(out_dim), out(rows * out_dim), out2(rows * out_dim);
        for (int64_t i = 0; i < n; ++i) pre[i] = static_cast<float>(std::sin(0.37 * static_cast<double>(i)) * 4.0);
        for (int64_t c = 0; c < cols; ++c) bias[c] = 0.05f * static_cast<float>(c % 3);
        for (int64_t i = 0; i < out_dim * cols; ++i) w[i] = static_cast<float>(std::cos(0.11 * static_cast<double>(i)));
        for (int64_t k = 0; k < out_dim; ++k) out_bias[k] = 0.5f - static_cast<float>(k);
        std::vector<float> x = pre;
        const std::vector<float> pre0 = pre;
        silu_forward_bias_slope_out(pre.data(), bias.data(), act.data(), rows, cols, w.data(), out_bias.data(), out_dim, out.data());
        silu_forward_bias_out(x.data(), bias.data(), rows, cols, w.data(), out_bias.data(), out_dim, out2.data());
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t k = 0; k < out_dim; ++k) {
            double ref = out_bias[k], size = std::fabs(ref);
            for (int64_t c = 0; c < cols; ++c) {
              const double z = static_cast<double>(pre0[r * cols + c]) + bias[c], term = z * sigmoid_ref(z) * w[k * cols + c];
              ref += term;
              size += std::fabs(term);
            }
            CHECK(std::fabs(out[r * out_dim + k] - ref) <= 1e-6 * size);
            CHECK(out2[r * out_dim + k] == out[r * out_dim + k]);  // the same activations, the same sums
          }
        }
        for (int64_t i = 0; i < n; ++i) CHECK(x[i] == act[i]);
      }
    }
  }
  silu_rows_avx512(initial);
}
