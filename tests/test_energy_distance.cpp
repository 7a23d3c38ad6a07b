// The energy distance: zero for one distribution, positive and correct for two.
#include <catch2/catch.hpp>

#include <cmath>

#include "common/metrics/energy_distance.h"

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
