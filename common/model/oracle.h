// The oracle: the exact marginal vector field and score of a Gaussian path whose data distribution is known in
// closed form (course notes: "marginal vector field" u_t(x) = E[u_t(x|z) | x_t = x]).
//
// Data: a mixture sum_k w_k N(mu_k, s_k^2 I) (data.mixture), or a finite set of points (s_k = 0, equal
// weights: the "memorising" solution that reproduces the training points). With D_k = alpha^2 s_k^2 + beta^2
// and r_k = x - alpha mu_k, the posterior over components is w_k N(r_k; 0, D_k I) normalised, and
//     E[z | x, k] = mu_k + alpha s_k^2 r_k / D_k,     E[eps | x, k] = beta r_k / D_k,
// which stay finite at beta = 0 when s_k > 0. forward(x, t) returns the configured prediction built from
// E[z | x] and E[eps | x] (parametrization.h). It has no parameters; computations run in float64 and the result
// takes x's dtype. Contract: as Net.
#pragma once

#include "common/model/net.h"
#include "common/path/parametrization.h"
#include "common/path/schedule.h"

namespace lockstep {

class Config;
class DataSource;

class Oracle : public Net {
 public:
  // From the config's mixture, or from the items of a finite `data` set.
  Oracle(const Config& cfg, const DataSource& data);
  // y: condition on the class (components or points with that label); the null class or an undefined y: none.
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y = {}) override;
  // E[z | x_t = x] and E[eps | x_t = x] (given the class when y is defined).
  DataNoise posterior_means(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y = {});
  // The marginal score grad log p_t(x).
  torch::Tensor score(const torch::Tensor& x, const torch::Tensor& t);

 private:
  PathTensors path64(const torch::Tensor& t) const;
  std::unique_ptr<Schedule> schedule_;
  Prediction prediction_;
  torch::Tensor means_, stds_, log_weights_;  // [K, d], [K], [K], float64
  torch::Tensor labels_;                       // [K] int64: the class of each component or point
  int64_t num_classes_ = 0;
};

}  // namespace lockstep
