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
  const torch::Tensor mean = ref.mean(0);
  const torch::Tensor centred = ref - mean;
  // x = mean + centred^T g / sqrt(m - 1), g ~ N(0, I_m), has exactly the covariance of the m reference points,
  // also when it is singular (images: fewer points than pixels, constant border pixels).
  const int64_t m = ref.size(0);
  // in blocks of rows, so that the draws take O(block x m) memory (n = m = 60,000 would be 28.8 GB at once); a
  // block of at most 2^25 numbers (256 MB), which holds every n up to 2^25 / m in one product
  const int64_t block = std::max<int64_t>(1, (int64_t{1} << 25) / std::max<int64_t>(m, 1));
  std::vector<torch::Tensor> parts;
  for (int64_t b = 0; b < n; b += block) {
    const int64_t rows = std::min(block, n - b);
    torch::Tensor g = torch::empty({rows, m}, torch::kFloat64);
    double* p = g.data_ptr<double>();
    for (int64_t i = b; i < b + rows; ++i) {
      CounterRng rng(seed ^ 0x5DEECE66Dull, 0, static_cast<uint64_t>(i), Stream::kEvalData);  // apart from data.npy
      for (int64_t k = 0; k < m; ++k) *p++ = rng.normal();
    }
    parts.push_back((g.mm(centred) / std::sqrt(static_cast<double>(std::max<int64_t>(m - 1, 1))) + mean).to(torch::kFloat32));
  }
  return parts.size() == 1 ? parts.front() : torch::cat(parts, 0);
}

}  // namespace lockstep
