// Sampling by solving the probability-flow ODE dX/dt = u_t(X) from t_min (noise) to t_max (data).
//
// Solvers: "euler" (order 1, 1 NFE a step), "midpoint" and "heun" (order 2, 2 NFE), "rk4" (order 4, 4 NFE),
// "dopri5" (adaptive Dormand-Prince 5(4) with sample.atol / sample.rtol; sample.steps sets the first step).
// Contract: sample i depends only on (seed, i): its initial point is beta_{t_min} * N(0, I) drawn from the
// counter-based generator at (seed, i), every solver works row by row (dopri5 keeps a time and step size per
// sample), so any split of [0, N) into ranges (chunks now, ranks later) gives the same samples. The network's
// output is turned into a velocity through the exact conversions of parametrization.h, so every solver works
// with every prediction type. nfe reports network evaluations per sample (the mean, for dopri5).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>
#include <vector>

#include "common/data/dataset.h"
#include "common/model/net.h"
#include "common/path/parametrization.h"
#include "common/path/schedule.h"
#include "common/sampler/guidance.h"
#include "common/sampler/sampler_names.h"

namespace lockstep {

struct SampleSpec {
  std::string sampler = "euler";
  int64_t steps = 100;
  uint64_t seed = 1;
  double t_min = 0.0, t_max = 1.0;
  int64_t dim = 2;
  Prediction prediction = Prediction::kVelocity;
  double atol = 1e-5, rtol = 1e-5;
  double eta = 0.0;                 // ddim
  double sde_sigma = 1.0;           // euler_maruyama
  bool sde_sigma_times_beta = false;
  int64_t num_classes = 0;          // > 0: a class-conditional model
  int64_t class_label = -1;         // the class of every sample; -1: sample i gets class i mod num_classes
  double guidance = 1.0;            // classifier-free guidance scale w
  std::shared_ptr<const DataSource> source;  // source.name "data": initial points are its draws (else N(0, I))
  // sample_distributed() passes samples through the network in batches of this many, aligned to its multiples in
  // the global sample order (0: a whole chunk at once). Image data sets it (sample_spec), so that a sample's batch,
  // and with it the rounding of the convolutions, does not depend on the number of ranks.
  uint64_t net_batch = 0;
  // `lockstep sample --init`: the starting points of samples [0, init.size(0)) as rows [n, dim] (float32), used as
  // the state at t_min (or as the source's draws); with init_is_data (--noise-init) they are data, noised to t_min
  // first: alpha_{t_min} x + beta_{t_min} eps_i with the seeded draws eps_i (SDEdit).
  std::shared_ptr<const torch::Tensor> init;
  bool init_is_data = false;
};

// The class labels of samples [begin, end) (undefined for an unconditional model).
torch::Tensor sample_labels(const SampleSpec& spec, uint64_t begin, uint64_t end);

// A vector field u(x, t) with t one time per row. `rows` says which rows of the batch x holds (undefined: all),
// for solvers that drop finished rows.
using Field = std::function<torch::Tensor(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& rows)>;
// The velocity of a network that predicts `kind`, through the conversions, with classifier-free guidance.
Field velocity_field(Net& net, const Schedule& s, Prediction kind, const Guidance& g = {});

// Initial points of samples [begin, end): beta_{t_min} * eps_i, or the source's draws x0_i (spec.source), from (seed, i);
// with spec.init its rows (noised, with init_is_data).
torch::Tensor initial_noise(const Schedule& s, const SampleSpec& spec, uint64_t begin, uint64_t end);
// The source's draws x0_i for samples [begin, end) (spec.source must be set; spec.init's rows replace them): what
// initial_noise() starts from.
torch::Tensor source_draws(const SampleSpec& spec, uint64_t begin, uint64_t end);
// Fixed-step solvers ("euler", "midpoint", "heun", "rk4") from t0 to t1 in `steps` steps; nfe per sample.
torch::Tensor solve_fixed(const std::string& method, const Field& f, torch::Tensor x, double t0, double t1,
                          int64_t steps, double* nfe);
// Adaptive Dormand-Prince 5(4), one step size per row.
torch::Tensor solve_dopri5(const Field& f, torch::Tensor x, double t0, double t1, double first_step, double atol,
                           double rtol, double* nfe);
// Samples [begin, end) as the spec says (the stochastic samplers of stochastic.h included).
torch::Tensor sample_range(Net& net, const Schedule& s, const SampleSpec& spec, uint64_t begin, uint64_t end,
                           double* nfe);

}  // namespace lockstep
