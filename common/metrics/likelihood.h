// Log-likelihood of data under a flow or diffusion model, through the probability-flow ODE.
//
// Along dX/dt = u_t(X), d/dt log p_t(X_t) = -div u_t(X_t) (instantaneous change of variables), so
//     log p_1(x) = log N(x_0; 0, beta_{t_min}^2 I) - int_{t_min}^{t_max} div u_t(X_t) dt,
// with x_0 found by solving the ODE backwards from x at t_max (RK4 with `steps` steps, the divergence integrated
// alongside). The divergence is exact (one autograd pass per dimension) for items of at most `exact_dims`
// numbers, and Hutchinson's unbiased estimate with one Rademacher probe per sample (from (seed, i)) above.
// Contract: returns log p [n] in nats; bits/dim = -log p / (d ln 2). Needs gradients (no inference mode).
#pragma once

#include <torch/torch.h>

#include "common/model/net.h"
#include "common/path/parametrization.h"
#include "common/path/schedule.h"

namespace lockstep {

struct LikelihoodSpec {
  double t_min = 0.0, t_max = 1.0;
  int64_t steps = 100;
  int64_t exact_dims = 16;
  uint64_t seed = 1;
  uint64_t first_index = 0;
};

torch::Tensor log_likelihood(Net& net, const Schedule& s, Prediction kind, const torch::Tensor& x,
                             const LikelihoodSpec& spec);

}  // namespace lockstep
