#include "common/metrics/straightness.h"

#include <cstring>

#include "common/util/error.h"

namespace lockstep {

void StraightnessSums::add(const StraightnessSums& o) {
  LS_CHECK(n == 0 || o.n == 0 || dim == o.dim, "StraightnessSums::add: " << dim << " against " << o.dim << " dimensions");
  deviation += o.deviation;
  kinetic += o.kinetic;
  n += o.n;
  if (o.n > 0) dim = o.dim;
}

std::string StraightnessSums::to_bytes() const {
  const double v[4] = {deviation, kinetic, static_cast<double>(n), static_cast<double>(dim)};
  return std::string(reinterpret_cast<const char*>(v), sizeof v);
}

void StraightnessSums::merge_bytes(const std::string& bytes) {
  double v[4];
  LS_CHECK(bytes.size() == sizeof v, "StraightnessSums::merge_bytes: " << bytes.size() << " bytes, expected " << sizeof v);
  std::memcpy(v, bytes.data(), sizeof v);
  add(StraightnessSums{v[0], v[1], static_cast<int64_t>(v[2]), static_cast<int64_t>(v[3])});
}

double StraightnessSums::straightness() const {
  return n > 0 && dim > 0 ? deviation / (static_cast<double>(n) * static_cast<double>(dim)) : 0.0;
}

double StraightnessSums::curved_fraction() const { return kinetic > 0 ? deviation / kinetic : 0.0; }

StraightnessSums straightness_sums(const Field& f, const torch::Tensor& x0, double t0, double t1, int64_t steps) {
  LS_CHECK(steps >= 1 && t1 > t0, "straightness_sums: steps " << steps << ", times " << t0 << " .. " << t1);
  torch::InferenceMode guard;
  const double span = t1 - t0, h = span / static_cast<double>(steps);
  torch::Tensor x = x0;
  torch::Tensor t = torch::empty({x.size(0)}, x.options());
  torch::Tensor sum_u = torch::zeros_like(x, x.options().dtype(torch::kFloat64));
  torch::Tensor sum_u2 = torch::zeros({x.size(0)}, sum_u.options());
  for (int64_t k = 0; k < steps; ++k) {
    const torch::Tensor u = f(x, t.fill_(t0 + h * static_cast<double>(k)), torch::Tensor());
    const torch::Tensor u64 = u.to(torch::kFloat64);
    sum_u.add_(u64);
    sum_u2.add_(u64.square().sum(1));
    x = x + h * u;
  }
  const torch::Tensor kinetic = h * sum_u2;
  // int ||u - chord velocity||^2 dt per sample; rounding can leave a tiny negative for a straight path
  const torch::Tensor deviation = (kinetic - (h * h / span) * sum_u.square().sum(1)).clamp_min(0.0);
  StraightnessSums s;
  s.deviation = deviation.sum().item<double>();
  s.kinetic = kinetic.sum().item<double>();
  s.n = x0.size(0);
  s.dim = x0.size(1);
  return s;
}

}  // namespace lockstep
