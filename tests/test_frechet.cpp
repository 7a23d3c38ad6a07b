// The Fréchet distance: closed forms between Gaussians, estimates from samples, statistics merged across ranks;
// the per-class counts behind accuracies.
#include <catch2/catch.hpp>

#include <cmath>

#include "common/metrics/class_counts.h"
#include "common/metrics/frechet.h"

using namespace lockstep;

namespace {

torch::Tensor f64(std::initializer_list<double> v) { return torch::tensor(std::vector<double>(v), torch::kFloat64); }

// A random orthogonal matrix (QR of a Gaussian matrix).
torch::Tensor orthogonal(int64_t d, uint64_t seed) {
  torch::manual_seed(seed);
  return std::get<0>(at::linalg_qr(torch::randn({d, d}, torch::kFloat64)));
}

}  // namespace

TEST_CASE("Frechet distance of Gaussians with diagonal covariances matches the closed form", "[metrics][frechet]") {
  // |mu1 - mu2|^2 + sum_k (sqrt(a_k) - sqrt(b_k))^2 when both covariances are diagonal.
  const torch::Tensor mu1 = f64({0, 1, 2}), mu2 = f64({1, 1, 0});
  const torch::Tensor a = f64({1, 4, 9}), b = f64({4, 1, 0.25});
  const double exact = 1 + 0 + 4 + (1 - 2) * (1 - 2) + (2 - 1) * (2 - 1) + (3 - 0.5) * (3 - 0.5);
  CHECK(frechet_distance(mu1, torch::diag(a), mu2, torch::diag(b)) == Approx(exact).epsilon(1e-12));
  // The same pair in a rotated basis: the distance does not change (covariances that are not diagonal).
  const torch::Tensor q = orthogonal(3, 7);
  CHECK(frechet_distance(q.matmul(mu1), q.matmul(torch::diag(a)).matmul(q.t()), q.matmul(mu2), q.matmul(torch::diag(b)).matmul(q.t())) ==
        Approx(exact).epsilon(1e-10));
  // A distribution against itself: 0.
  CHECK(std::abs(frechet_distance(mu1, torch::diag(a), mu1, torch::diag(a))) < 1e-12);
}

TEST_CASE("Frechet distance between covariances that do not commute", "[metrics][frechet]") {
  // S1 = I and S2 = A^2 with A symmetric positive definite: tr((S1^1/2 S2 S1^1/2)^1/2) = tr(A), so
  // FD = |dmu|^2 + d + tr(A^2) - 2 tr(A).
  const torch::Tensor q = orthogonal(4, 11);
  const torch::Tensor A = q.matmul(torch::diag(f64({0.5, 1.0, 2.0, 3.0}))).matmul(q.t());
  const torch::Tensor dmu = f64({0.3, -0.2, 0.0, 1.0});
  const double exact = dmu.square().sum().item<double>() + 4 + A.matmul(A).trace().item<double>() - 2 * A.trace().item<double>();
  CHECK(frechet_distance(torch::zeros({4}, torch::kFloat64), torch::eye(4, torch::kFloat64), dmu, A.matmul(A)) ==
        Approx(exact).epsilon(1e-10));
  // and symmetric in its two arguments
  CHECK(frechet_distance(dmu, A.matmul(A), torch::zeros({4}, torch::kFloat64), torch::eye(4, torch::kFloat64)) ==
        Approx(exact).epsilon(1e-10));
}

TEST_CASE("Frechet distance estimated from samples of two known Gaussians", "[metrics][frechet]") {
  // X ~ N(0, L1 L1^T), Y ~ N(mu, L2 L2^T) in 4-D; features fed to FeatureStats by three "ranks" each.
  const int64_t d = 4, n = 20000;
  const torch::Tensor L1 = torch::tensor({{1.0, 0.0, 0.0, 0.0}, {0.5, 1.0, 0.0, 0.0}, {0.0, -0.3, 0.8, 0.0}, {0.2, 0.0, 0.1, 1.5}}, torch::kFloat64);
  const torch::Tensor L2 = torch::tensor({{2.0, 0.0, 0.0, 0.0}, {0.0, 0.5, 0.0, 0.0}, {1.0, 0.0, 1.0, 0.0}, {0.0, 0.4, 0.0, 0.7}}, torch::kFloat64);
  const torch::Tensor mu = f64({1.0, 0.0, -0.5, 0.25});
  const torch::Tensor S1 = L1.matmul(L1.t()), S2 = L2.matmul(L2.t());
  const double exact = frechet_distance(torch::zeros({d}, torch::kFloat64), S1, mu, S2);
  const int reps = 8;
  std::vector<double> est;
  for (int r = 0; r < reps; ++r) {
    torch::manual_seed(200 + r);
    const torch::Tensor x = torch::randn({n, d}, torch::kFloat64).matmul(L1.t());
    const torch::Tensor y = torch::randn({n, d}, torch::kFloat64).matmul(L2.t()) + mu;
    FeatureStats a(d), b(d);
    const int64_t cuts[] = {0, 5000, 12345, n};
    for (int k = 0; k < 3; ++k) {  // three ranks' slices, merged as rank 0 would
      FeatureStats pa(d), pb(d);
      pa.add(x.narrow(0, cuts[k], cuts[k + 1] - cuts[k]).to(torch::kFloat32));
      pb.add(y.narrow(0, cuts[k], cuts[k + 1] - cuts[k]).to(torch::kFloat32));
      a.merge_bytes(pa.to_bytes());
      b.merge_bytes(pb.to_bytes());
    }
    REQUIRE(a.n == n);
    est.push_back(frechet_distance(a, b));
  }
  double mean = 0, var = 0;
  for (double e : est) mean += e / reps;
  for (double e : est) var += (e - mean) * (e - mean) / (reps - 1);
  const double se = std::sqrt(var / reps);
  // The plug-in estimate is biased upwards by about (tr S1 + tr S2) / n from the means alone.
  const double bias = 2 * (S1.trace().item<double>() + S2.trace().item<double>()) / static_cast<double>(n);
  INFO("exact " << exact << ", estimate " << mean << " +- " << se << ", bias bound " << bias);
  CHECK(std::abs(mean - exact) < 5 * se + bias);
  CHECK(se < 0.02 * exact);  // the margin is informative
}

TEST_CASE("feature statistics: ranks' parts merge to the whole and a set has distance 0 to itself", "[metrics][frechet]") {
  torch::manual_seed(5);
  const torch::Tensor f = torch::rand({1000, 16}) * 3;
  FeatureStats whole(16), parts(16);
  whole.add(f);
  for (int64_t b : {0, 333, 700}) {
    FeatureStats p(16);
    p.add(f.narrow(0, b, (b == 700 ? 1000 : b == 333 ? 700 : 333) - b));
    parts.merge_bytes(p.to_bytes());
  }
  CHECK(torch::allclose(parts.mean(), whole.mean(), 1e-12, 1e-12));
  CHECK(torch::allclose(parts.cov(), whole.cov(), 1e-10, 1e-12));
  const torch::Tensor c = f.to(torch::kFloat64) - f.to(torch::kFloat64).mean(0);
  CHECK(torch::allclose(whole.cov(), c.t().matmul(c) / 999.0, 1e-9, 1e-12));
  CHECK(std::abs(frechet_distance(whole, parts)) < 1e-8);
}

TEST_CASE("class counts: per-class accuracy and merging", "[metrics]") {
  ClassCounts a(3), b(3);
  a.add(torch::tensor({0, 1, 1, 2}), torch::tensor({0, 1, 2, 2}));  // class 2: one of two right
  b.add(torch::tensor({2, 0}), torch::tensor({1, 0}));              // class 1 wrong, class 0 right
  a.merge_bytes(b.to_bytes());
  CHECK(a.rows() == 6);
  CHECK(a.accuracy() == Approx(4.0 / 6.0));
  CHECK(a.accuracy(0) == Approx(1.0));
  CHECK(a.accuracy(1) == Approx(0.5));
  CHECK(a.accuracy(2) == Approx(0.5));
  ClassCounts empty(2);
  CHECK(std::isnan(empty.accuracy(1)));
}
