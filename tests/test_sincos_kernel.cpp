// The time embedding's sine and cosine kernel (common/kernels/sincos.h) against double precision: a geometric grid
// over the reduced range and both signs, the octant boundaries, the fallback beyond it (huge, infinite, NaN), and
// row layouts with a stride and an odd number of frequencies.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <vector>

#include "common/kernels/sincos.h"

using namespace lockstep;

namespace {
// 2 ulp of the value, or 2 ulp of 1 near a zero of the function (the argument itself carries that much)
double tolerance(double ref, double x) { return 2.0 * std::numeric_limits<float>::epsilon() * std::max(std::fabs(ref), std::min(1.0, std::fabs(x))); }
}  // namespace

TEST_CASE("sin_cos_poly is within 2 ulp of sin and cos up to 8192 and falls back beyond", "[kernels]") {
  int64_t checked = 0;
  for (float x = 1e-6f; x <= 8192.0f; x *= 1.0001f) {
    for (float v : {x, -x}) {
      float s = 0, c = 0;
      sin_cos_poly(v, &s, &c);
      const double rs = std::sin(static_cast<double>(v)), rc = std::cos(static_cast<double>(v));
      INFO("x " << v);
      REQUIRE(std::fabs(s - rs) <= tolerance(rs, v));
      REQUIRE(std::fabs(c - rc) <= tolerance(rc, 1.0));
      ++checked;
    }
  }
  CHECK(checked > 200000);
  for (int k = -40; k <= 40; ++k) {  // multiples of pi/4: the octant switches
    const float v = static_cast<float>(k * 0.78539816339744830962);
    float s = 0, c = 0;
    sin_cos_poly(v, &s, &c);
    CHECK(std::fabs(s - std::sin(static_cast<double>(v))) <= 2.5e-7);
    CHECK(std::fabs(c - std::cos(static_cast<double>(v))) <= 2.5e-7);
  }
  for (float v : {8193.0f, -1e6f, 3e30f}) {
    float s = 0, c = 0;
    sin_cos_poly(v, &s, &c);
    CHECK(s == std::sin(v));
    CHECK(c == std::cos(v));
  }
  for (float v : {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    float s = 0, c = 0;
    sin_cos_poly(v, &s, &c);
    CHECK(std::isnan(s));
    CHECK(std::isnan(c));
  }
}

TEST_CASE("sinusoidal_rows writes the sines, then the cosines, of t times each frequency", "[kernels]") {
  const int64_t rows = 37, half = 7, stride = 19;  // a remainder after the vector body, an offset row stride
  std::vector<float> t(rows), freqs(half), out(rows * stride, -5.0f);
  for (int64_t r = 0; r < rows; ++r) t[r] = static_cast<float>(r) / 36.0f;
  t[5] = std::numeric_limits<float>::quiet_NaN();
  t[6] = 1e9f;  // beyond the reduced range for every frequency
  for (int64_t j = 0; j < half; ++j) freqs[j] = static_cast<float>(1000.0 * std::pow(10000.0, -static_cast<double>(j) / half));
  sinusoidal_rows(t.data(), freqs.data(), rows, half, out.data() + 3, stride);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < half; ++j) {
      const float x = t[r] * freqs[j];
      const float s = out[r * stride + 3 + j], c = out[r * stride + 3 + half + j];
      INFO("row " << r << " frequency " << j);
      if (std::isnan(x)) {
        CHECK(std::isnan(s));
        CHECK(std::isnan(c));
        continue;
      }
      CHECK(std::fabs(s - std::sin(static_cast<double>(x))) <= tolerance(std::sin(static_cast<double>(x)), x));
      CHECK(std::fabs(c - std::cos(static_cast<double>(x))) <= tolerance(std::cos(static_cast<double>(x)), 1.0));
    }
    for (int64_t k : {int64_t{0}, int64_t{1}, int64_t{2}, 3 + 2 * half}) CHECK(out[r * stride + k] == -5.0f);  // nothing outside the row's 2h numbers
  }
}
