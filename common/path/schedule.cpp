#include "common/path/schedule.h"

#include <cmath>

#include "common/proto/config.pb.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

constexpr double kPi = 3.14159265358979323846;

// CondOT / linear: alpha_t = t, beta_t = 1 - t.
class LinearSchedule : public Schedule {
 public:
  PathPoint at(double t) const override { return {t, 1.0 - t, 1.0, -1.0}; }
  std::string name() const override { return "linear"; }
};

// Variance preserving with DDPM's linear beta(s) in continuous time (diffusion time tau = 1 - t):
// alpha = exp(-1/2 * (b0 tau + (b1 - b0) tau^2 / 2)), beta = sqrt(1 - alpha^2).
class VpLinearSchedule : public Schedule {
 public:
  VpLinearSchedule(double b0, double b1) : b0_(b0), b1_(b1) {}
  PathPoint at(double t) const override {
    const double tau = 1.0 - t;
    const double integral = b0_ * tau + 0.5 * (b1_ - b0_) * tau * tau;  // int_0^tau beta(s) ds
    const double alpha = std::exp(-0.5 * integral);
    const double d_alpha = alpha * 0.5 * (b0_ + (b1_ - b0_) * tau);  // d/dt = -d/dtau
    return vp_point(alpha, d_alpha);
  }
  std::string name() const override { return "vp_linear"; }
  static PathPoint vp_point(double alpha, double d_alpha) {
    const double beta = std::sqrt(std::max(0.0, 1.0 - alpha * alpha));
    const double d_beta = beta > 0.0 ? -alpha * d_alpha / beta : 0.0;
    return {alpha, beta, d_alpha, d_beta};
  }

 private:
  double b0_, b1_;
};

// Cosine schedule of Nichol & Dhariwal (diffusion time tau = 1 - t):
// alpha = cos(((tau + s)/(1 + s)) pi/2) / cos((s/(1 + s)) pi/2), beta = sqrt(1 - alpha^2).
// alpha reaches 0 at tau = 1 (t = 0), where d_beta is singular: times are clipped by the path's t_min.
class VpCosineSchedule : public Schedule {
 public:
  explicit VpCosineSchedule(double s) : s_(s), norm_(std::cos(s / (1.0 + s) * kPi / 2)) {}
  PathPoint at(double t) const override {
    const double tau = 1.0 - t;
    const double arg = (tau + s_) / (1.0 + s_) * kPi / 2;
    const double alpha = std::cos(arg) / norm_;
    const double d_alpha = std::sin(arg) / norm_ * (kPi / 2) / (1.0 + s_);  // d/dt = -d/dtau
    return VpLinearSchedule::vp_point(std::min(alpha, 1.0), d_alpha);
  }
  std::string name() const override { return "vp_cosine"; }

 private:
  double s_, norm_;
};

// Variance exploding: alpha = 1, beta = sigma_min (sigma_max / sigma_min)^tau with tau = 1 - t.
class VeSchedule : public Schedule {
 public:
  VeSchedule(double smin, double smax) : smin_(smin), log_ratio_(std::log(smax / smin)) {}
  PathPoint at(double t) const override {
    const double beta = smin_ * std::exp(log_ratio_ * (1.0 - t));
    return {1.0, beta, 0.0, -log_ratio_ * beta};
  }
  std::string name() const override { return "ve"; }

 private:
  double smin_, log_ratio_;
};

}  // namespace

double Schedule::log_snr(double t) const {
  const PathPoint p = at(t);
  return std::log(p.alpha * p.alpha) - std::log(p.beta * p.beta);
}

const std::vector<std::string>& schedule_names() {
  static const std::vector<std::string> names = {"linear", "vp_linear", "vp_cosine", "ve"};
  return names;
}

std::unique_ptr<Schedule> make_schedule(const std::string& name) {
  PathConfig cfg;
  cfg.set_name(name);
  return make_schedule(cfg);
}

std::unique_ptr<Schedule> make_schedule(const PathConfig& cfg) {
  const std::string& n = cfg.name();
  if (n == "linear") return std::make_unique<LinearSchedule>();
  if (n == "vp_linear") return std::make_unique<VpLinearSchedule>(cfg.beta_min(), cfg.beta_max());
  if (n == "vp_cosine") return std::make_unique<VpCosineSchedule>(cfg.cosine_s());
  if (n == "ve") return std::make_unique<VeSchedule>(cfg.sigma_min(), cfg.sigma_max());
  throw InternalError("make_schedule: unknown schedule '" + n + "' (config validation should have refused it)");
}

}  // namespace lockstep
