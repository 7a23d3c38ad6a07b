// The kernels of the CPU fast paths without LibTorch: Adam's one pass against the scalar arithmetic it promises, the
// all-reduce's rank-order sum against the plain loop (bit for bit), and the fast-path switch. Built twice: against
// the kernels as configured and against their portable build (no x86-64 code).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "common/kernels/adam.h"
#include "common/kernels/fast_paths.h"
#include "common/kernels/sum_ranks.h"

using namespace lockstep;

namespace {

// deterministic values in [-scale, scale)
float value(uint64_t i, float scale) {
  uint64_t z = i * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  return (static_cast<float>(z >> 40) / static_cast<float>(1u << 24) * 2.0f - 1.0f) * scale;
}

}  // namespace

TEST_CASE("adam_update computes the promised float32 arithmetic element by element", "[kernels]") {
  for (int64_t n : {1, 7, 16, 33, 1000}) {
    for (float ema_weight : {0.0f, 0.1f, 0.9f}) {
      INFO("n " << n << ", ema weight " << ema_weight);
      AdamScalars s;
      s.step_size = 1e-3f / 0.1f;
      s.sqrt_bias2 = std::sqrt(1.0f - 0.999f);
      s.decay = 1.0f - 1e-3f * 0.01f;
      s.ema_weight = ema_weight;
      std::vector<float> p(n), g(n), m(n), v(n), e(n);
      for (int64_t i = 0; i < n; ++i) {
        p[i] = value(5 * i, 1.0f);
        g[i] = value(5 * i + 1, 0.1f);
        m[i] = value(5 * i + 2, 0.01f);
        v[i] = std::fabs(value(5 * i + 3, 1e-4f));
        e[i] = value(5 * i + 4, 1.0f);
      }
      std::vector<float> p2 = p, m2 = m, v2 = v, e2 = e;
      adam_update(s, p.data(), g.data(), m.data(), v.data(), ema_weight > 0 ? e.data() : nullptr, n);
      // the compiler may contract a * b + c into one fused multiply-add: each result within a few ulp of the
      // magnitude of its terms (a sum that cancels is only absolutely accurate)
      auto close = [](float got, double want, double terms) { return std::fabs(got - want) <= 4e-7 * terms + 1e-30; };
      for (int64_t i = 0; i < n; ++i) {
        const float mi = s.beta1 * m2[i] + s.one_minus_beta1 * g[i];
        const float vi = s.beta2 * v2[i] + s.one_minus_beta2 * (g[i] * g[i]);
        const float ratio = mi / (std::sqrt(vi) / s.sqrt_bias2 + s.eps);
        const float pi = p2[i] * s.decay - s.step_size * ratio;
        CHECK(close(m[i], mi, std::fabs(s.beta1 * m2[i]) + std::fabs(s.one_minus_beta1 * g[i])));
        CHECK(close(v[i], vi, std::fabs(vi)));
        CHECK(close(p[i], pi, std::fabs(p2[i]) + std::fabs(s.step_size * ratio) * 2));
        if (ema_weight > 0) {
          const float w = ema_weight;
          const float ei = w < 0.5f ? e2[i] + w * (p[i] - e2[i]) : p[i] - (p[i] - e2[i]) * (1.0f - w);
          CHECK(close(e[i], ei, std::fabs(e2[i]) + std::fabs(p[i])));
        } else {
          CHECK(e[i] == e2[i]);
        }
      }
    }
  }
}

TEST_CASE("sum_in_rank_order gives the bits of the plain rank-order loop, also in place", "[kernels]") {
  for (int ranks : {1, 2, 3, 5}) {
    for (size_t m : {size_t{0}, size_t{1}, size_t{511}, size_t{512}, size_t{1500}}) {
      INFO(ranks << " ranks, " << m << " floats");
      std::vector<std::vector<float>> x(static_cast<size_t>(ranks), std::vector<float>(m));
      for (int q = 0; q < ranks; ++q)
        for (size_t i = 0; i < m; ++i) x[q][i] = value(static_cast<uint64_t>(q) * 100000 + i, 1.0f + static_cast<float>(i % 13));
      std::vector<float> expect(m);
      for (size_t i = 0; i < m; ++i) {
        float acc = x[0][i];
        for (int q = 1; q < ranks; ++q) acc += x[q][i];
        expect[i] = acc;
      }
      std::vector<const float*> in;
      std::vector<float*> out;
      for (auto& xq : x) {
        in.push_back(xq.data());
        out.push_back(xq.data());  // in place, into every input: the shared gradient buffers
      }
      sum_in_rank_order(in.data(), ranks, m, out.data(), ranks);
      for (int q = 0; q < ranks; ++q) CHECK(x[q] == expect);
    }
  }
}

TEST_CASE("the fast-path switch turns every fast path off and back on, and the banner says so", "[kernels]") {
  const bool initial = set_cpu_fast_paths(false);
  for (FastPath p : all_fast_paths()) CHECK_FALSE(fast_path_on(p));
  CHECK_THAT(describe_fast_paths(all_fast_paths()), Catch::Contains("off (engine.cpu_fast_paths is false)"));
  set_cpu_fast_paths(true);
  for (FastPath p : all_fast_paths()) CHECK(fast_path_on(p));
  const std::string text = describe_fast_paths({FastPath::kAdam, FastPath::kMlpStep});
  CHECK_THAT(text, Catch::Contains("fused MLP step") && Catch::Contains("one-pass Adam") && !Catch::Contains("group norm"));
  CHECK_THAT(text, Catch::Contains(x86_kernels_built() ? "x86-64 kernels" : "portable kernels"));
  CHECK(describe_fast_paths({}) == "none apply to this run");
  set_cpu_fast_paths(initial);
}
