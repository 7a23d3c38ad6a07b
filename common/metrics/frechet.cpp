#include "common/metrics/frechet.h"

#include <cstring>

#include "common/util/error.h"

namespace lockstep {
namespace {

// The symmetric square root of a symmetric positive semi-definite matrix.
torch::Tensor sqrt_psd(const torch::Tensor& s) {
  auto [values, vectors] = at::linalg_eigh(s);
  return (vectors * values.clamp_min(0).sqrt().unsqueeze(0)).matmul(vectors.transpose(0, 1));
}

}  // namespace

double frechet_distance(const torch::Tensor& mu1, const torch::Tensor& cov1, const torch::Tensor& mu2, const torch::Tensor& cov2) {
  const torch::Tensor m1 = mu1.to(torch::kFloat64), m2 = mu2.to(torch::kFloat64);
  const torch::Tensor s1 = cov1.to(torch::kFloat64), s2 = cov2.to(torch::kFloat64);
  LS_CHECK(m1.dim() == 1 && m1.sizes() == m2.sizes() && s1.dim() == 2 && s1.size(0) == m1.size(0) && s1.sizes() == s2.sizes(),
           "frechet_distance: means " << m1.sizes() << ", " << m2.sizes() << ", covariances " << s1.sizes() << ", " << s2.sizes());
  const torch::Tensor r1 = sqrt_psd(0.5 * (s1 + s1.transpose(0, 1)));
  torch::Tensor inner = r1.matmul(s2).matmul(r1);
  inner = 0.5 * (inner + inner.transpose(0, 1));
  const double cross = at::linalg_eigvalsh(inner).clamp_min(0).sqrt().sum().item<double>();
  return (m1 - m2).square().sum().item<double>() + s1.trace().item<double>() + s2.trace().item<double>() - 2.0 * cross;
}

FeatureStats::FeatureStats(int64_t features)
    : sum(torch::zeros({features}, torch::kFloat64)), outer(torch::zeros({features, features}, torch::kFloat64)) {}

void FeatureStats::add(const torch::Tensor& f) {
  LS_CHECK(f.dim() == 2 && f.size(1) == sum.size(0), "FeatureStats::add: rows " << f.sizes() << ", expected [n, " << sum.size(0) << "]");
  const torch::Tensor x = f.to(torch::kCPU, torch::kFloat64);
  n += x.size(0);
  sum += x.sum(0);
  outer += x.transpose(0, 1).matmul(x);
}

std::string FeatureStats::to_bytes() const {
  std::string b(reinterpret_cast<const char*>(&n), sizeof n);
  b.append(static_cast<const char*>(sum.data_ptr()), static_cast<size_t>(sum.numel()) * sizeof(double));
  b.append(static_cast<const char*>(outer.data_ptr()), static_cast<size_t>(outer.numel()) * sizeof(double));
  return b;
}

void FeatureStats::merge_bytes(const std::string& b) {
  const size_t f = static_cast<size_t>(sum.numel());
  LS_CHECK(b.size() == sizeof(int64_t) + (f + f * f) * sizeof(double),
           "FeatureStats::merge_bytes: " << b.size() << " bytes for " << f << " features");
  int64_t count;
  std::memcpy(&count, b.data(), sizeof count);
  n += count;
  const double* p = reinterpret_cast<const double*>(b.data() + sizeof count);
  sum += torch::from_blob(const_cast<double*>(p), {static_cast<int64_t>(f)}, torch::kFloat64);
  outer += torch::from_blob(const_cast<double*>(p + f), {static_cast<int64_t>(f), static_cast<int64_t>(f)}, torch::kFloat64);
}

torch::Tensor FeatureStats::mean() const { return sum / static_cast<double>(n); }

torch::Tensor FeatureStats::cov() const {
  const torch::Tensor mu = mean();
  return (outer - static_cast<double>(n) * torch::outer(mu, mu)) / static_cast<double>(n - 1);
}

double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  LS_CHECK(a.n >= 2 && b.n >= 2, "frechet_distance: needs at least 2 feature rows on each side, got " << a.n << " and " << b.n);
  return frechet_distance(a.mean(), a.cov(), b.mean(), b.cov());
}

}  // namespace lockstep
