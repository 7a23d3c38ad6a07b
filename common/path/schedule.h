// Gaussian probability paths p_t(x|z) = N(alpha_t z, beta_t^2 I) (course notes, "Gaussian probability path").
//
// Convention: t = 0 is noise, t = 1 is data. alpha_0 = 0 (or small), alpha_1 = 1; beta_0 large, beta_1 = 0
// (or small). Formulas written in the diffusion convention (tau = 1 - t is "diffusion time") say so.
//
// Contract: a Schedule is a pure function of t (no state, no torch); values and time derivatives are exact
// closed forms, checked against finite differences in tests/test_schedule.cpp. Made from the config by
// make_schedule(), which is the one place that knows the names.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace lockstep {

class PathConfig;

struct PathPoint {
  double alpha, beta, d_alpha, d_beta;  // alpha_t, beta_t and their derivatives in t
};

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual PathPoint at(double t) const = 0;
  virtual std::string name() const = 0;
  // log signal-to-noise ratio log(alpha^2 / beta^2).
  double log_snr(double t) const;
};

// The schedule names make_schedule() accepts.
const std::vector<std::string>& schedule_names();
// Builds the schedule named in the config (validated before).
std::unique_ptr<Schedule> make_schedule(const PathConfig& cfg);
// The schedule of that name with the config's default parameters.
std::unique_ptr<Schedule> make_schedule(const std::string& name);

}  // namespace lockstep
