#include "common/metrics/pair_sums.h"

#include <cstring>

#include "common/util/error.h"

namespace lockstep {
namespace {

// Adds sum_{i in rows, j} |a_i - b_j| to *d and sum k_h to (*k)[h].
void add_pairs(const torch::Tensor& a, const torch::Tensor& b, const std::vector<double>& h, double* d, std::vector<double>* k) {
  const int64_t block = 1024;
  for (int64_t i = 0; i < a.size(0); i += block) {
    const torch::Tensor dist = torch::cdist(a.narrow(0, i, std::min(block, a.size(0) - i)), b);
    *d += dist.sum().item<double>();
    const torch::Tensor sq = dist.square();
    for (size_t q = 0; q < h.size(); ++q) (*k)[q] += torch::exp(sq / (-2.0 * h[q] * h[q])).sum().item<double>();
  }
}

torch::Tensor as_f64(const torch::Tensor& t) { return t.to(torch::kFloat64).reshape({t.size(0), -1}); }

}  // namespace

PairSums::PairSums(int64_t n_x, int64_t n_y, std::vector<double> h)
    : n(n_x), m(n_y), bandwidths(std::move(h)), kxx(bandwidths.size()), kyy(bandwidths.size()), kxy(bandwidths.size()) {}

void PairSums::add_rows(const torch::Tensor& x_in, const torch::Tensor& y_in, int64_t begin, int64_t end, int64_t begin_y, int64_t end_y) {
  torch::NoGradGuard no_grad;
  const torch::Tensor x = as_f64(x_in), y = as_f64(y_in);
  LS_CHECK(x.size(0) == n && y.size(0) == m && x.size(1) == y.size(1), "PairSums: sizes " << x.sizes() << " and " << y.sizes());
  if (end > begin) {
    const torch::Tensor rows = x.narrow(0, begin, end - begin);
    add_pairs(rows, x, bandwidths, &dxx, &kxx);
    add_pairs(rows, y, bandwidths, &dxy, &kxy);
  }
  if (end_y > begin_y) add_pairs(y.narrow(0, begin_y, end_y - begin_y), y, bandwidths, &dyy, &kyy);
}

std::string PairSums::to_bytes() const {
  std::vector<double> v = {dxx, dyy, dxy};
  for (size_t q = 0; q < bandwidths.size(); ++q) v.insert(v.end(), {kxx[q], kyy[q], kxy[q]});
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(double));
}

void PairSums::merge_bytes(const std::string& bytes) {
  const size_t count = 3 + 3 * bandwidths.size();
  LS_CHECK(bytes.size() == count * sizeof(double), "PairSums::merge_bytes: " << bytes.size() << " bytes, expected " << count * sizeof(double));
  std::vector<double> v(count);
  std::memcpy(v.data(), bytes.data(), bytes.size());
  dxx += v[0];
  dyy += v[1];
  dxy += v[2];
  for (size_t q = 0; q < bandwidths.size(); ++q) kxx[q] += v[3 + 3 * q], kyy[q] += v[4 + 3 * q], kxy[q] += v[5 + 3 * q];
}

double PairSums::energy_distance_u() const {
  const double nn = static_cast<double>(n), mm = static_cast<double>(m);
  return 2.0 * dxy / (nn * mm) - dxx / (nn * (nn - 1)) - dyy / (mm * (mm - 1));
}

double PairSums::energy_distance_v() const {
  const double nn = static_cast<double>(n), mm = static_cast<double>(m);
  return 2.0 * dxy / (nn * mm) - dxx / (nn * nn) - dyy / (mm * mm);
}

double PairSums::mmd2_u(size_t k) const {
  const double nn = static_cast<double>(n), mm = static_cast<double>(m);
  return (kxx[k] - nn) / (nn * (nn - 1)) + (kyy[k] - mm) / (mm * (mm - 1)) - 2.0 * kxy[k] / (nn * mm);  // k(a, a) = 1
}

double PairSums::mmd2_v(size_t k) const {
  const double nn = static_cast<double>(n), mm = static_cast<double>(m);
  return kxx[k] / (nn * nn) + kyy[k] / (mm * mm) - 2.0 * kxy[k] / (nn * mm);
}

std::vector<double> median_bandwidths(const torch::Tensor& y_in) {
  torch::NoGradGuard no_grad;
  const torch::Tensor y = as_f64(y_in).narrow(0, 0, std::min<int64_t>(y_in.size(0), 2000));
  const torch::Tensor d = torch::cdist(y, y);
  const torch::Tensor off = d.masked_select(~torch::eye(y.size(0), torch::kBool));
  const double med = off.median().item<double>();
  return {med / 4, med / 2, med, 2 * med, 4 * med};
}

}  // namespace lockstep
