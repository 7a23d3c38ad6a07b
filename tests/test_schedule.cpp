// Schedules against their closed forms, and derivatives against central finite differences.
#include <catch2/catch.hpp>

#include <cmath>

#include "common/path/schedule.h"
#include "common/proto/config.pb.h"

using namespace lockstep;

TEST_CASE("linear (CondOT) has alpha = t and beta = 1 - t", "[path]") {
  auto s = make_schedule("linear");
  for (double t : {0.0, 0.1, 0.5, 0.93, 1.0}) {
    const PathPoint p = s->at(t);
    CHECK(p.alpha == Approx(t).margin(1e-15));
    CHECK(p.beta == Approx(1 - t).margin(1e-15));
    CHECK(p.d_alpha == 1.0);
    CHECK(p.d_beta == -1.0);
  }
}

TEST_CASE("vp_linear matches its closed form and is variance preserving", "[path]") {
  auto s = make_schedule("vp_linear");
  for (double t : {0.0, 0.2, 0.5, 0.8, 1.0}) {
    const double tau = 1 - t;
    const double alpha = std::exp(-0.5 * (0.1 * tau + 0.5 * (20.0 - 0.1) * tau * tau));
    const PathPoint p = s->at(t);
    CHECK(p.alpha == Approx(alpha).epsilon(1e-12));
    CHECK(p.alpha * p.alpha + p.beta * p.beta == Approx(1.0).epsilon(1e-12));
  }
  CHECK(s->at(1.0).alpha == 1.0);
  CHECK(s->at(0.0).alpha < 1e-2);  // nearly pure noise at t = 0
}

TEST_CASE("vp_cosine matches Nichol & Dhariwal", "[path]") {
  auto s = make_schedule("vp_cosine");
  const double sc = 0.008, pi = 3.14159265358979323846;
  for (double t : {0.05, 0.3, 0.6, 1.0}) {
    const double tau = 1 - t;
    const double alpha = std::cos((tau + sc) / (1 + sc) * pi / 2) / std::cos(sc / (1 + sc) * pi / 2);
    CHECK(s->at(t).alpha == Approx(alpha).epsilon(1e-12));
    CHECK(s->at(t).beta == Approx(std::sqrt(1 - alpha * alpha)).epsilon(1e-12));
  }
}

TEST_CASE("ve has alpha = 1 and beta = sigma_min (sigma_max / sigma_min)^(1 - t)", "[path]") {
  auto s = make_schedule("ve");
  CHECK(s->at(0.0).beta == Approx(80.0).epsilon(1e-12));
  CHECK(s->at(1.0).beta == Approx(0.01).epsilon(1e-12));
  CHECK(s->at(0.5).beta == Approx(0.01 * std::pow(8000.0, 0.5)).epsilon(1e-12));
  CHECK(s->at(0.3).alpha == 1.0);
}

TEST_CASE("every schedule's derivatives match finite differences", "[path]") {
  for (const std::string& name : schedule_names()) {
    auto s = make_schedule(name);
    for (double t : {0.1, 0.25, 0.5, 0.75, 0.9}) {
      const double h = 1e-6;
      const PathPoint p = s->at(t), lo = s->at(t - h), hi = s->at(t + h);
      INFO(name << " at t = " << t);
      CHECK(p.d_alpha == Approx((hi.alpha - lo.alpha) / (2 * h)).epsilon(1e-5).margin(1e-7));
      CHECK(p.d_beta == Approx((hi.beta - lo.beta) / (2 * h)).epsilon(1e-5).margin(1e-7));
    }
  }
}

TEST_CASE("log-SNR increases from noise to data", "[path]") {
  for (const std::string& name : schedule_names()) {
    auto s = make_schedule(name);
    INFO(name);
    CHECK(s->log_snr(0.2) < s->log_snr(0.5));
    CHECK(s->log_snr(0.5) < s->log_snr(0.8));
  }
}
