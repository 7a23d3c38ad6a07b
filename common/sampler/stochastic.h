// Stochastic and discrete-time samplers (t = 0 noise, t = 1 data).
//
//   euler_maruyama  dX = [u_t(X) + (sigma_t^2 / 2) s_t(X)] dt + sigma_t dW (course notes: the SDE that keeps the
//                   marginals of the probability path for any sigma_t), sigma_t = sample.sde_sigma, constant or
//                   times beta_t (sample.sde_sigma_schedule "beta"); u and s from the network's prediction
//                   through the exact conversions.
//   ddim            DDIM (Song et al.) on the K-step grid t_0 < ... < t_K, written for any Gaussian path: with
//                   (z^, eps^) the network's data and noise estimates at (x, t) and primes for t_{k+1},
//                   x' = alpha' z^ + sqrt(beta'^2 - sigma^2) eps^ + sigma xi,
//                   sigma = eta * beta' sqrt(1 - (alpha beta')^2 / (alpha' beta)^2)   (sample.eta; 0: deterministic)
//   ddpm            ancestral sampling: DDIM with eta = 1, whose sigma^2 is the variance of the forward process's
//                   posterior q(x_{t'} | x_t, z) (on a variance-preserving path DDPM's beta~_t).
// Contract: sample i's noise at step k comes from the counter-based generator at (seed, k, i), so a sample
// depends only on (seed, i), as with the ODE samplers. nfe: network evaluations per sample.
#pragma once

#include <torch/torch.h>

#include "common/model/net.h"
#include "common/path/parametrization.h"
#include "common/path/schedule.h"
#include "common/sampler/guidance.h"

namespace lockstep {

struct StochasticSpec {
  uint64_t seed = 1;
  uint64_t first_index = 0;  // global index of row 0 (noise is keyed by the global sample index)
  double sigma = 1.0;
  bool sigma_times_beta = false;
  double eta = 0.0;
  Guidance guidance;  // class labels and scale (undefined labels: unconditional)
};

torch::Tensor solve_euler_maruyama(Net& net, const Schedule& s, Prediction kind, torch::Tensor x, double t0, double t1,
                                   int64_t steps, const StochasticSpec& spec, double* nfe);
torch::Tensor solve_ddim(Net& net, const Schedule& s, Prediction kind, torch::Tensor x, double t0, double t1,
                         int64_t steps, const StochasticSpec& spec, double* nfe);
// The DDIM/DDPM noise scale of one step from (alpha, beta) to (alpha', beta').
double ddim_sigma(double eta, double alpha, double beta, double alpha_next, double beta_next);

}  // namespace lockstep
