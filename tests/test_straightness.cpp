// The straightness of the sampling ODE's trajectories (common/metrics/straightness.h): its closed form for one
// Gaussian, zero for a straight flow, the same on 1 and 2 ranks, and `lockstep eval --straightness` with labelled
// baselines in the sweep.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/config/config.h"
#include "common/data/dataset.h"
#include "common/metrics/straightness.h"
#include "common/model/oracle.h"
#include "common/util/fs.h"
#include "tests/proc.h"

using namespace lockstep;
using namespace lockstep::test;

namespace {

Config gaussian_config(double std) {
  return parse_config_text("data { name: \"gaussian_mixture\" mixture { mean: [1, -1] std: " + std::to_string(std) +
                               " } } model { name: \"oracle\" }",
                           "one gaussian");
}

// The straightness of N(0, I) -> N(mu, sigma^2 I) on the linear path, per unit of mean ||eps||^2 / D: the ODE's
// solution is x_t = t mu + a(t) eps with a(t) = sqrt(t^2 sigma^2 + (1 - t)^2), the chord's velocity is
// mu + (sigma - 1) eps, so S = E||eps||^2 / D * int_0^1 (a'(t) - (sigma - 1))^2 dt (midpoint rule, fine grid).
double closed_form(double sigma) {
  const int m = 200000;
  double sum = 0;
  for (int i = 0; i < m; ++i) {
    const double t = (i + 0.5) / m, a = std::sqrt(t * t * sigma * sigma + (1 - t) * (1 - t));
    const double da = (t * sigma * sigma - (1 - t)) / a;
    sum += (da - (sigma - 1)) * (da - (sigma - 1)) / m;
  }
  return sum;
}

double value_after(const std::string& text, const std::string& key, size_t from = 0) {
  const size_t at = text.find(key, from);
  REQUIRE(at != std::string::npos);
  return std::stod(text.substr(at + key.size()));
}

}  // namespace

TEST_CASE("straightness of the Gaussian-to-Gaussian ODE matches its closed form and vanishes for a straight flow", "[math][straightness]") {
  for (const double sigma : {0.3, 2.0}) {
    const Config cfg = gaussian_config(sigma);
    const auto data = make_dataset(cfg.data(), 0);
    Oracle oracle(cfg, *data);
    const auto schedule = make_schedule(cfg.path());
    const Field f = velocity_field(oracle, *schedule, Prediction::kVelocity);
    SampleSpec spec;
    spec.dim = 2;
    const torch::Tensor x0 = initial_noise(*schedule, spec, 0, 2000).to(torch::kFloat64);
    const StraightnessSums s = straightness_sums(f, x0, 0.0, 1.0, 1000);
    // the trajectories stay on their rays t mu + c eps, so the only statistics are those of ||eps||^2, known exactly
    const double expected = x0.square().sum().item<double>() / (2000.0 * 2.0) * closed_form(sigma);
    INFO("sigma " << sigma << ": S " << s.straightness() << ", closed form " << expected);
    CHECK(s.n == 2000);
    CHECK(s.straightness() == Approx(expected).epsilon(0.01));
    CHECK(s.curved_fraction() > 0.0);
    CHECK(s.curved_fraction() < 1.0);
  }
  // a data set of (almost) one point: a(t) = 1 - t, every trajectory a straight line at constant speed
  const Config cfg = gaussian_config(1e-6);
  const auto data = make_dataset(cfg.data(), 0);
  Oracle oracle(cfg, *data);
  const auto schedule = make_schedule(cfg.path());
  SampleSpec spec;
  spec.dim = 2;
  const StraightnessSums s = straightness_sums(velocity_field(oracle, *schedule, Prediction::kVelocity),
                                               initial_noise(*schedule, spec, 0, 500).to(torch::kFloat64), 0.0, 1.0, 100);
  CHECK(s.straightness() < 1e-9);
  CHECK(s.kinetic > 500.0);  // the paths are long: |mu - eps|^2 summed
  // sums merge across ranks: two halves give the whole
  StraightnessSums a{1.5, 4.0, 10, 2}, b{0.5, 2.0, 30, 2};
  StraightnessSums merged = a;
  merged.merge_bytes(b.to_bytes());
  CHECK(merged.straightness() == Approx(2.0 / 80.0));
  CHECK(merged.curved_fraction() == Approx(2.0 / 6.0));
}

TEST_CASE("lockstep eval --straightness is the same on 1 and 2 ranks and joins the sweep with labelled baselines", "[straightness][cli][mpi]") {
  const std::string dir = temp_dir("straightness-eval");
  const auto write = [&](const std::string& name, double std) {
    std::FILE* f = std::fopen((dir + "/" + name).c_str(), "w");
    REQUIRE(f);
    std::fprintf(f, "data { name: \"gaussian_mixture\" mixture { mean: [1, -1] std: %g } } model { name: \"oracle\" }\n", std);
    std::fclose(f);
  };
  write("curved.textproto", 0.3);
  write("straight.textproto", 1e-6);
  write("wide.textproto", 2.0);
  const std::string args = " eval " + dir + "/curved.textproto --num 300 --straightness --steps 50 --report ";
  const ProcResult one = run_lockstep(args + dir + "/one.json");
  INFO(one.output);
  REQUIRE(one.exit_code == 0);
  const ProcResult two = run_shell(mpi_lockstep_command(2) + args + dir + "/two.json");
  INFO(two.output);
  REQUIRE(two.exit_code == 0);
  const double s1 = value_after(one.output, "straightness: model=this S="), s2 = value_after(two.output, "straightness: model=this S=");
  CHECK(s1 > 0.01);
  CHECK(s2 == Approx(s1).epsilon(1e-9));
  CHECK_THAT(read_file(dir + "/one.md"), Catch::Contains("| model | straightness S") && Catch::Contains("| this | "));

  // the sweep: this model named by --label, a labelled baseline and an unlabelled one; each gets its straightness
  const ProcResult sw = run_lockstep("eval " + dir + "/curved.textproto --num 200 --sweep --sweep-samplers euler --sweep-max-nfe 2"
                                     " --straightness --steps 20 --label curved --baseline straight=" + dir + "/straight.textproto"
                                     " --baseline " + dir + "/wide.textproto --report " + dir + "/sweep.json");
  INFO(sw.output);
  REQUIRE(sw.exit_code == 0);
  const std::string json = read_file(dir + "/sweep.json");
  for (const char* model : {"curved", "straight", "baseline 2"}) {
    INFO(model);
    CHECK_THAT(json, Catch::Contains(std::string("{\"model\": \"") + model + "\", \"sampler\": \"euler\", \"steps\": 2"));
    CHECK_THAT(json, Catch::Contains(std::string("{\"model\": \"") + model + "\", \"straightness\": "));
  }
  CHECK(value_after(sw.output, "straightness: model=straight S=") < 1e-9);
  CHECK(value_after(sw.output, "straightness: model=baseline 2 S=") > 0.01);
  CHECK(std::filesystem::exists(dir + "/sweep.sweep.png"));
  // a baseline may not take this model's name, and --baseline needs --sweep
  ProcResult bad = run_lockstep("eval " + dir + "/curved.textproto --num 50 --sweep --sweep-max-nfe 1 --baseline this=" + dir + "/wide.textproto");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("is taken"));
  bad = run_lockstep("eval " + dir + "/curved.textproto --num 50 --sweep --sweep-max-nfe 1 --baseline x=" + dir + "/wide.textproto --baseline x=" +
                     dir + "/straight.textproto");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("'x' is taken"));
  bad = run_lockstep("eval " + dir + "/curved.textproto --num 50 --baseline " + dir + "/wide.textproto");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("only used with --sweep"));
}
