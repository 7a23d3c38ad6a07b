#include "common/path/gaussian_path.h"

namespace lockstep {

PathTensors path_tensors(const Schedule& s, const torch::Tensor& t) {
  const int64_t n = t.size(0);
  torch::Tensor all = torch::empty({4, n, 1}, torch::kFloat64);
  double* a = all.data_ptr<double>();
  const torch::Tensor tc = t.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* tp = tc.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) {
    const PathPoint p = s.at(tp[i]);
    a[i] = p.alpha;
    a[n + i] = p.beta;
    a[2 * n + i] = p.d_alpha;
    a[3 * n + i] = p.d_beta;
  }
  all = all.to(t.device(), t.scalar_type());  // the times' device and precision
  return {all[0], all[1], all[2], all[3]};
}

torch::Tensor path_columns(const Schedule& s, const torch::Tensor& t) {
  const int64_t n = t.size(0);
  torch::Tensor all = torch::empty({n, 4}, torch::kFloat64);
  double* a = all.data_ptr<double>();
  const torch::Tensor tc = t.to(torch::kCPU, torch::kFloat64).contiguous();
  const double* tp = tc.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) {
    const PathPoint p = s.at(tp[i]);
    a[4 * i] = p.alpha;
    a[4 * i + 1] = p.beta;
    a[4 * i + 2] = p.d_alpha;
    a[4 * i + 3] = p.d_beta;
  }
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
