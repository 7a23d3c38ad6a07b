// Sampling by solving the ODE dX/dt = u_theta(X, t) from t_min (noise) to t_max (data).
//
// Contract: sample i depends only on (seed, i): its initial point is beta_{t_min} * N(0, I) drawn from the
// counter-based generator at (seed, i), and the solve is per-row, so any split of [0, N) into ranges (chunks
// now, ranks later) gives bitwise the same samples on CPU. nfe counts network evaluations per sample.
#pragma once

#include <torch/torch.h>

#include <string>

#include "common/model/net.h"
#include "common/path/schedule.h"

namespace lockstep {

struct SampleSpec {
  std::string sampler = "euler";
  int64_t steps = 100;
  uint64_t seed = 1;
  double t_min = 0.0, t_max = 1.0;
  int64_t dim = 2;
};

// Initial points of samples [begin, end): beta_{t_min} * eps_i.
torch::Tensor initial_noise(const Schedule& s, const SampleSpec& spec, uint64_t begin, uint64_t end);
// Euler steps of size (t1 - t0) / steps.
torch::Tensor euler_solve(Net& net, torch::Tensor x, double t0, double t1, int64_t steps, int64_t* nfe);
// Samples [begin, end) as the spec says.
torch::Tensor sample_range(Net& net, const Schedule& s, const SampleSpec& spec, uint64_t begin, uint64_t end,
                           int64_t* nfe);

}  // namespace lockstep
