// Straightness of the sampling ODE's trajectories (Liu, Gong & Liu, "Flow straight and fast", 2022).
//
// For a trajectory dx/dt = u(x_t, t) from x_{t0} (the source draw) to x_{t1} (the sample), with T = t1 - t0,
//     S = E  int_{t0}^{t1} || (x_{t1} - x_{t0}) / T - u(x_t, t) ||^2 dt  / D,
// the mean squared deviation of the velocity from the chord's constant velocity, per dimension: 0 exactly when
// every trajectory is a straight line travelled at constant speed, and then one Euler step is exact. (Along the
// ODE's own solution x_{t1} - x_{t0} = int u dt, so it is the velocity, not the end point, that can deviate.)
// The curved fraction C = E int ||(x_{t1} - x_{t0}) / T - u||^2 dt / E int ||u||^2 dt in [0, 1] is the share of
// the kinetic energy spent off the chord, free of the data's scale.
// Contract: the trajectory is the Euler solution with `steps` steps; velocities are summed in float64 as they come
// (no trajectory is stored): per sample, int ||u - mean u||^2 dt = h sum ||u_k||^2 - h^2 ||sum u_k||^2 / T.
// StraightnessSums add over rows and over ranks (to_bytes / merge_bytes), so a job's ranks each take their rows.
#pragma once

#include <torch/torch.h>

#include <string>

#include "common/sampler/ode.h"

namespace lockstep {

struct StraightnessSums {
  double deviation = 0;  // sum over samples of int ||(x1 - x0) / T - u||^2 dt
  double kinetic = 0;    // sum over samples of int ||u||^2 dt
  int64_t n = 0;         // samples
  int64_t dim = 0;       // numbers per sample

  void add(const StraightnessSums& o);
  std::string to_bytes() const;
  void merge_bytes(const std::string& bytes);
  double straightness() const;     // S (per dimension)
  double curved_fraction() const;  // C
};

// The sums for the trajectories that start at the rows of x0, along f from t0 to t1 (Euler, `steps` steps).
StraightnessSums straightness_sums(const Field& f, const torch::Tensor& x0, double t0, double t1, int64_t steps);

}  // namespace lockstep
