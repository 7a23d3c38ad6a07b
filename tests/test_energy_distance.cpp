// The energy distance: zero for one distribution, positive and correct for two.
#include <catch2/catch.hpp>

#include <cmath>

#include "common/metrics/energy_distance.h"
#include "common/metrics/pair_sums.h"

using namespace lockstep;

TEST_CASE("energy distance between 1-D normals matches the closed form", "[metrics]") {
  // For X ~ N(0,1), Y ~ N(m,1): E|X-Y| = 2 phi(m/sqrt2) sqrt2 + m (2 Phi(m/sqrt2) - 1), E|X-X'| = 2/sqrt(pi).
  torch::manual_seed(0);
  const double m = 1.0, s2 = std::sqrt(2.0), pi = 3.14159265358979323846;
  const double a = m / s2;
  const double exy = s2 * 2 * std::exp(-a * a / 2) / std::sqrt(2 * pi) + m * std::erf(a / s2);
  const double expected = 2 * exy - 2 * 2 / std::sqrt(pi);
  const int n = 4000;
  const double ed = energy_distance(torch::randn({n, 1}), torch::randn({n, 1}) + m);
  // The estimator's standard deviation at n = 4000 is about 0.01 here (measured over seeds): margin 5 sigma.
  CHECK(ed == Approx(expected).margin(0.05));
}

TEST_CASE("energy distance of a sample against itself-like data is near zero", "[metrics]") {
  torch::manual_seed(1);
  const double ed = energy_distance(torch::randn({3000, 2}), torch::randn({3000, 2}));
  // Unbiased: mean 0; its spread at n = 3000 is O(1/n), about 1e-3.
  CHECK(std::abs(ed) < 5e-3);
}

TEST_CASE("the matched Gaussian has the reference's mean and covariance", "[metrics]") {
  torch::manual_seed(2);
  const torch::Tensor ref = torch::randn({5000, 2}).mm(torch::tensor({{2.0f, 0.0f}, {0.5f, 0.3f}})) + torch::tensor({1.0f, -1.0f});
  const torch::Tensor g = matched_gaussian(ref, 20000, 9);
  CHECK(torch::allclose(g.mean(0), ref.mean(0), 0, 0.05));
  const torch::Tensor cg = (g - g.mean(0)).t().mm(g - g.mean(0)) / 20000.0;
  const torch::Tensor cr = (ref - ref.mean(0)).t().mm(ref - ref.mean(0)) / 5000.0;
  CHECK(torch::allclose(cg, cr, 0.08, 0.05));
}

TEST_CASE("pair sums: a set against itself has zero V-statistics and ranks' sums add up to the whole", "[metrics]") {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({301, 2}), y = torch::randn({257, 2}) + 0.5;
  const std::vector<double> h = median_bandwidths(y);
  REQUIRE(h.size() == 5);
  PairSums self(301, 301, h);
  self.add_rows(x, x, 0, 301, 0, 301);
  CHECK(std::abs(self.energy_distance_v()) < 1e-12);
  for (size_t k = 0; k < h.size(); ++k) CHECK(std::abs(self.mmd2_v(k)) < 1e-12);
  PairSums whole(301, 257, h);
  whole.add_rows(x, y, 0, 301, 0, 257);
  CHECK(whole.energy_distance_u() == Approx(energy_distance(x, y)).epsilon(1e-10));
  PairSums parts(301, 257, h);  // three "ranks", uneven slices
  const int64_t xb[] = {0, 100, 250, 301}, yb[] = {0, 7, 200, 257};
  for (int r = 0; r < 3; ++r) {
    PairSums rank(301, 257, h);
    rank.add_rows(x, y, xb[r], xb[r + 1], yb[r], yb[r + 1]);
    parts.merge_bytes(rank.to_bytes());
  }
  CHECK(parts.energy_distance_u() == Approx(whole.energy_distance_u()).epsilon(1e-12));
  for (size_t k = 0; k < h.size(); ++k) CHECK(parts.mmd2_u(k) == Approx(whole.mmd2_u(k)).epsilon(1e-10));
}

TEST_CASE("RBF MMD between two Gaussians matches its closed form", "[metrics]") {
  // X ~ N(0, 1), Y ~ N(mu, 1) in 1-D, kernel exp(-d^2 / (2 h^2)):
  // MMD^2 = 2 h / sqrt(h^2 + 2) (1 - exp(-mu^2 / (2 (h^2 + 2)))).
  const double mu = 1.0, h = 1.0;
  const double exact = 2 * h / std::sqrt(h * h + 2) * (1 - std::exp(-mu * mu / (2 * (h * h + 2))));
  const int reps = 8;
  const int64_t n = 2000;
  std::vector<double> est;
  for (int r = 0; r < reps; ++r) {
    torch::manual_seed(100 + r);
    const torch::Tensor x = torch::randn({n, 1}, torch::kFloat64), y = torch::randn({n, 1}, torch::kFloat64) + mu;
    PairSums s(n, n, {h});
    s.add_rows(x, y, 0, n, 0, n);
    est.push_back(s.mmd2_u(0));
  }
  double mean = 0, var = 0;
  for (double e : est) mean += e / reps;
  for (double e : est) var += (e - mean) * (e - mean) / (reps - 1);
  const double se = std::sqrt(var / reps);
  INFO("exact " << exact << ", estimate " << mean << " +- " << se);
  CHECK(std::abs(mean - exact) < 5 * se + 1e-4);
  CHECK(se < 0.01);  // the margin is informative: the replicates agree
}
