#include "common/path/gaussian_path.h"

namespace lockstep {

namespace {

// alpha, beta, d_alpha, d_beta at each time of t, in float64 on the host: coefficient k of sample i at
// out[i * per_sample + k * per_coefficient]
void fill_path(const Schedule& s, const torch::Tensor& t, double* out, int64_t per_sample, int64_t per_coefficient) {
  const torch::Tensor tc = t.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* tp = tc.data_ptr<double>();
  for (int64_t i = 0; i < t.size(0); ++i) {
    const PathPoint p = s.at(tp[i]);
    double* a = out + i * per_sample;
    a[0] = p.alpha;
    a[per_coefficient] = p.beta;
    a[2 * per_coefficient] = p.d_alpha;
    a[3 * per_coefficient] = p.d_beta;
  }
}

}  // namespace

PathTensors path_tensors(const Schedule& s, const torch::Tensor& t) {
  const int64_t n = t.size(0);
  torch::Tensor all = torch::empty({4, n, 1}, torch::kFloat64);
  fill_path(s, t, all.data_ptr<double>(), 1, n);
  all = all.to(t.device(), t.scalar_type());  // the times' device and precision
  return {all[0], all[1], all[2], all[3]};
}

torch::Tensor path_columns(const Schedule& s, const torch::Tensor& t) {
  torch::Tensor all = torch::empty({t.size(0), 4}, torch::kFloat64);
  fill_path(s, t, all.data_ptr<double>(), 4, 1);
  return all.to(t.scalar_type());
}

PathTensors path_from_columns(const torch::Tensor& columns) {
  const torch::Tensor all = columns.t().contiguous().unsqueeze(2);  // [4, n, 1], as path_tensors makes it
  return {all[0], all[1], all[2], all[3]};
}

torch::Tensor path_sample(const PathTensors& p, const torch::Tensor& z, const torch::Tensor& eps) {
  return p.alpha * z + p.beta * eps;
}

torch::Tensor conditional_vector_field(const PathTensors& p, const torch::Tensor& x, const torch::Tensor& z) {
  const torch::Tensor ratio = p.d_beta / p.beta;
  return (p.d_alpha - ratio * p.alpha) * z + ratio * x;
}

torch::Tensor cfm_target(const PathTensors& p, const torch::Tensor& z, const torch::Tensor& eps) {
  return p.d_alpha * z + p.d_beta * eps;
}

}  // namespace lockstep
