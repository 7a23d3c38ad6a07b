#include "common/metrics/energy_distance.h"

#include "common/rng/philox.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

// Sum over all pairs (i, j) of |a_i - b_j|, in float64 blocks.
double pair_distance_sum(const torch::Tensor& a, const torch::Tensor& b) {
  const int64_t block = 1024;
  double sum = 0.0;
  for (int64_t i = 0; i < a.size(0); i += block) {
    const torch::Tensor ai = a.narrow(0, i, std::min(block, a.size(0) - i));
    sum += torch::cdist(ai, b).sum().item<double>();
  }
  return sum;
}

}  // namespace

double energy_distance(const torch::Tensor& x_in, const torch::Tensor& y_in) {
  torch::NoGradGuard no_grad;
  const torch::Tensor x = x_in.to(torch::kFloat64).reshape({x_in.size(0), -1});
  const torch::Tensor y = y_in.to(torch::kFloat64).reshape({y_in.size(0), -1});
  const double n = static_cast<double>(x.size(0)), m = static_cast<double>(y.size(0));
  LS_CHECK(n >= 2 && m >= 2 && x.size(1) == y.size(1), "energy_distance needs two samples of >= 2 points of one dimension");
  const double xy = pair_distance_sum(x, y) / (n * m);
  const double xx = pair_distance_sum(x, x) / (n * (n - 1));  // the diagonal is zero
  const double yy = pair_distance_sum(y, y) / (m * (m - 1));
  return 2.0 * xy - xx - yy;
}

torch::Tensor matched_gaussian(const torch::Tensor& ref_in, int64_t n, uint64_t seed) {
  torch::NoGradGuard no_grad;
  const torch::Tensor ref = ref_in.to(torch::kFloat64).reshape({ref_in.size(0), -1});
  const int64_t d = ref.size(1);
  const torch::Tensor mean = ref.mean(0);
  const torch::Tensor centred = ref - mean;
  const torch::Tensor cov = centred.t().mm(centred) / static_cast<double>(ref.size(0) - 1);
  const torch::Tensor chol = at::linalg_cholesky(cov + 1e-9 * torch::eye(d, torch::kFloat64));
  torch::Tensor eps = torch::empty({n, d}, torch::kFloat64);
  double* p = eps.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) {
    CounterRng rng(seed ^ 0x5DEECE66Dull, 0, static_cast<uint64_t>(i), Stream::kEvalData);  // apart from data.npy
    for (int64_t k = 0; k < d; ++k) *p++ = rng.normal();
  }
  return (eps.mm(chol.t()) + mean).to(torch::kFloat32);
}

}  // namespace lockstep
