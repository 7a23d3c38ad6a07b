// The mathematics in closed form, with no trained network: conversions between predictions, the oracle's
// marginal score, ODE samplers transporting N(0, I) to a Gaussian mixture, their orders of convergence, and the
// memorising oracle landing on its training points.
#include <catch2/catch.hpp>

#include <cmath>

#include "common/config/config.h"
#include "common/data/dataset.h"
#include "common/loss/flow_matching.h"
#include "common/model/oracle.h"
#include "common/path/parametrization.h"
#include "common/sampler/ode.h"
#include "common/sampler/stochastic.h"
#include "common/metrics/likelihood.h"
#include "common/io/npy.h"
#include "common/util/fs.h"
#include "tests/proc.h"

using namespace lockstep;

namespace {

const char* kMixture =
    "data { name: \"gaussian_mixture\"\n"
    "  mixture { weight: 0.3 mean: [-2, 0] std: 0.5 }\n"
    "  mixture { weight: 0.7 mean: [2, 1] std: 0.3 } }\n"
    "model { name: \"oracle\" }\n";

Config mixture_config(const std::string& extra = "") { return parse_config_text(std::string(kMixture) + extra, "test mixture"); }

// The oracle of a config with its data set and schedule.
struct OracleSetup {
  explicit OracleSetup(const Config& c)
      : cfg(c), data(make_dataset(c.data(), 0)), oracle(std::make_unique<Oracle>(c, *data)), schedule(make_schedule(c.path())) {}
  Config cfg;
  std::unique_ptr<DataSource> data;
  std::unique_ptr<Oracle> oracle;
  std::unique_ptr<Schedule> schedule;
};

}  // namespace

TEST_CASE("conversions between velocity score epsilon and x0 round-trip on every path", "[math]") {
  const auto f64 = torch::kFloat64;
  const torch::Tensor z = torch::sin(torch::arange(40, f64)).reshape({20, 2}) * 2;
  const torch::Tensor eps = torch::cos(torch::arange(40, f64) * 1.7).reshape({20, 2});
  const torch::Tensor t = 0.05 + 0.9 * torch::arange(20, f64) / 19.0;
  const Prediction all[] = {Prediction::kVelocity, Prediction::kScore, Prediction::kEpsilon, Prediction::kX0};
  for (const std::string& name : schedule_names()) {
    const auto s = make_schedule(name);
    PathTensors p = path_tensors(*s, t.to(torch::kFloat32));
    for (torch::Tensor* v : {&p.alpha, &p.beta, &p.d_alpha, &p.d_beta}) *v = v->to(f64);
    const torch::Tensor x = path_sample(p, z, eps);
    for (Prediction from : all) {
      const torch::Tensor pred = compose(from, {z, eps}, p);
      const DataNoise back = decompose(from, pred, x, p);
      INFO(name << " from " << prediction_name(from));
      CHECK(torch::allclose(back.z, z, 1e-5, 1e-5));
      CHECK(torch::allclose(back.eps, eps, 1e-5, 1e-5));
      for (Prediction to : all) {
        const torch::Tensor there = convert(from, to, pred, x, p);
        CHECK(torch::allclose(convert(to, from, there, x, p), pred, 1e-5, 1e-5));
      }
    }
  }
}

TEST_CASE("the oracle's score of one Gaussian is the closed-form marginal score", "[math]") {
  Config cfg = parse_config_text("data { name: \"gaussian_mixture\" mixture { mean: [1, -1] std: 0.5 } }\n"
                                 "model { name: \"oracle\" } path { name: \"vp_linear\" }", "one gaussian");
  auto data = make_dataset(cfg.data(), 0);
  Oracle oracle(cfg, *data);
  const auto s = make_schedule(cfg.path());
  const torch::Tensor x = torch::tensor({{0.3, 0.2}, {-1.0, 2.0}, {1.0, -1.0}}, torch::kFloat64);
  for (double t : {0.1, 0.5, 0.9}) {
    const PathPoint p = s->at(t);
    const double var = p.alpha * p.alpha * 0.25 + p.beta * p.beta;
    const torch::Tensor mean = torch::tensor({1.0, -1.0}, torch::kFloat64) * p.alpha;
    const torch::Tensor expected = -(x - mean) / var;
    CHECK(torch::allclose(oracle.score(x, torch::full({3}, t, torch::kFloat64)), expected, 1e-9, 1e-9));
  }
}

TEST_CASE("every ODE sampler transports N(0 I) to the Gaussian mixture", "[math]") {
  OracleSetup setup(mixture_config());
  Oracle& oracle = *setup.oracle;
  const auto& schedule = setup.schedule;
  const int64_t n = 4000;
  // Targets: mean (0.8, 0.7); per-dimension variances 3.4976 and 0.3048 + 0.063 = 0.2733 + ... (computed below).
  const double w[2] = {0.3, 0.7}, mu[2][2] = {{-2, 0}, {2, 1}}, sd[2] = {0.5, 0.3};
  double mean[2] = {0, 0}, second[2] = {0, 0};
  for (int k = 0; k < 2; ++k)
    for (int d = 0; d < 2; ++d) mean[d] += w[k] * mu[k][d], second[d] += w[k] * (sd[k] * sd[k] + mu[k][d] * mu[k][d]);
  for (const std::string sampler : {"euler", "midpoint", "heun", "rk4", "dopri5"}) {
    SampleSpec spec;
    spec.sampler = sampler;
    spec.steps = sampler == "euler" ? 400 : 100;
    spec.seed = 5;
    double nfe = 0;
    const torch::Tensor x = sample_range(oracle, *schedule, spec, 0, n, &nfe).to(torch::kFloat64);
    INFO(sampler << ", " << nfe << " NFE");
    for (int d = 0; d < 2; ++d) {
      const double var = second[d] - mean[d] * mean[d];
      const double se = std::sqrt(var / n);  // standard error of the sample mean
      CHECK(std::abs(x.select(1, d).mean().item<double>() - mean[d]) < 5 * se);
      // the sample variance's standard error is about var * sqrt((kurtosis - 1) / n); kurtosis < 3 here
      CHECK(std::abs(x.select(1, d).var().item<double>() - var) < 5 * var * std::sqrt(2.0 / n));
    }
    // component weights: the share of samples nearer the second mean, within 5 binomial standard errors
    const double share = ((x - torch::tensor({2.0, 1.0}, torch::kFloat64)).norm(2, 1) <
                          (x - torch::tensor({-2.0, 0.0}, torch::kFloat64)).norm(2, 1)).to(torch::kFloat64).mean().item<double>();
    CHECK(std::abs(share - 0.7) < 5 * std::sqrt(0.21 / n));
  }
}

TEST_CASE("measured orders of convergence: Euler 1 midpoint and Heun 2 RK4 4", "[math]") {
  OracleSetup setup(mixture_config());
  Oracle& oracle = *setup.oracle;
  const auto& schedule = setup.schedule;
  const Field f = velocity_field(oracle, *schedule, Prediction::kVelocity);
  const torch::Tensor x0 = torch::tensor({{0.3, -0.5}, {-1.2, 0.8}}, torch::kFloat64);
  const torch::Tensor exact = solve_fixed("rk4", f, x0.clone(), 0.0, 1.0, 4096, nullptr);
  struct Expect { const char* method; double order; int64_t coarse; };
  for (const Expect& e : {Expect{"euler", 1, 64}, Expect{"midpoint", 2, 32}, Expect{"heun", 2, 32}, Expect{"rk4", 4, 16}}) {
    std::vector<double> err;
    for (int64_t steps = e.coarse; steps <= 8 * e.coarse; steps *= 2)
      err.push_back((solve_fixed(e.method, f, x0.clone(), 0.0, 1.0, steps, nullptr) - exact).abs().max().item<double>());
    double order = 0;
    for (size_t i = 0; i + 1 < err.size(); ++i) order += std::log2(err[i] / err[i + 1]) / (err.size() - 1);
    INFO(e.method << ": errors " << err[0] << " ... " << err.back() << ", measured order " << order);
    CHECK(order == Approx(e.order).margin(e.order * 0.15 + 0.1));
  }
}

TEST_CASE("dopri5 meets its tolerance and each sample is independent of the others", "[math]") {
  OracleSetup setup(mixture_config());
  Oracle& oracle = *setup.oracle;
  const auto& schedule = setup.schedule;
  const Field f = velocity_field(oracle, *schedule, Prediction::kVelocity);
  const torch::Tensor x0 = torch::randn({64, 2}, torch::kFloat64);
  const torch::Tensor exact = solve_fixed("rk4", f, x0.clone(), 0.0, 1.0, 4096, nullptr);
  double nfe = 0;
  const torch::Tensor got = solve_dopri5(f, x0.clone(), 0.0, 1.0, 0.05, 1e-8, 1e-8, &nfe);
  CHECK((got - exact).abs().max().item<double>() < 1e-5);
  CHECK(nfe > 7);
  // the same rows solved in two halves give the same answer: step sizes are per row
  const torch::Tensor a = solve_dopri5(f, x0.narrow(0, 0, 32).clone(), 0.0, 1.0, 0.05, 1e-6, 1e-6, nullptr);
  const torch::Tensor all = solve_dopri5(f, x0.clone(), 0.0, 1.0, 0.05, 1e-6, 1e-6, nullptr);
  CHECK(torch::allclose(all.narrow(0, 0, 32), a, 0, 1e-12));
}

TEST_CASE("the memorising oracle of a finite training set lands on training points", "[math]") {
  const Config cfg = parse_config_text("data { name: \"moons\" size: 50 } model { name: \"oracle\" } path { t_max: 0.999 }",
                                       "finite oracle");
  auto data = make_dataset(cfg.data(), cfg.seed());
  Oracle oracle(cfg, *data);
  const auto schedule = make_schedule(cfg.path());
  torch::Tensor points = torch::empty({50, 2});
  for (int64_t i = 0; i < 50; ++i) (void)data->item(i, points.data_ptr<float>() + 2 * i);
  SampleSpec spec;
  spec.sampler = "rk4";
  spec.steps = 200;
  spec.t_max = 0.999;
  double nfe = 0;
  const torch::Tensor x = sample_range(oracle, *schedule, spec, 0, 200, &nfe);
  const torch::Tensor nearest = torch::cdist(x, points).amin(1);
  INFO("largest distance to the nearest training point: " << nearest.max().item<double>());
  CHECK(nearest.max().item<double>() < 0.01);  // beta(0.999) = 0.001: within a few of its noise widths
}

TEST_CASE("lockstep path prints the schedule as CSV", "[math][cli]") {
  const test::ProcResult r = test::run_lockstep("path vp_cosine --num 5");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::StartsWith("t,alpha,beta,d_alpha,d_beta,log_snr\n0,"));
  CHECK_THAT(r.output, Catch::Contains("\n1,1,0,"));
  CHECK(test::run_lockstep("path zigzag").exit_code == 2);
}

TEST_CASE("the oracle samples from a config through the binary", "[math][cli]") {
  const std::string dir = test::temp_dir("oracle-cli");
  const std::string config = dir + "/mixture.textproto";
  std::FILE* f = std::fopen(config.c_str(), "w");
  std::fputs(kMixture, f);
  std::fclose(f);
  const test::ProcResult r = test::run_lockstep("sample " + config + " --num 500 --sampler heun --steps 20 --out " + dir + "/s.npy");
  INFO(r.output);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("(oracle), heun with 40.0 NFE per sample"));
  const test::ProcResult bad = test::run_lockstep("sample " + config + " --sampler leapfrog");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("--sampler leapfrog: unknown sampler; allowed: euler, midpoint, heun, rk4, dopri5, euler_maruyama, ddim, ddpm"));
}

TEST_CASE("every prediction type trains and samples end to end", "[math][e2e][long]") {
  const std::string dir = test::temp_dir("predictions");
  for (const char* pred : {"EPSILON", "X0", "SCORE"}) {
    INFO(pred);
    const std::string common = std::string("train --steps 150 --set sample.num=200 --set train.eval_every=0 --set model.prediction=") + pred;
    test::ProcResult r = test::run_lockstep(common + " --out " + dir + "/no-clip-" + pred);
    CHECK(r.exit_code == 2);  // the singular end of the path must be clipped first
    r = test::run_lockstep(common + " --set path.t_min=0.001 --set path.t_max=0.999 --out " + dir + "/" + pred);
    CHECK(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("metrics: energy_distance="));
  }
}

namespace {
// Checks that samples follow the two-component mixture of kMixture (mean, variance, weights within 5 s.e.).
void check_mixture(const torch::Tensor& x_in) {
  const torch::Tensor x = x_in.to(torch::kFloat64);
  const double n = static_cast<double>(x.size(0));
  const double mean[2] = {0.8, 0.7};
  const double var[2] = {0.3 * (0.25 + 4) + 0.7 * (0.09 + 4) - 0.64, 0.3 * 0.25 + 0.7 * (0.09 + 1) - 0.49};
  for (int d = 0; d < 2; ++d) {
    CHECK(std::abs(x.select(1, d).mean().item<double>() - mean[d]) < 5 * std::sqrt(var[d] / n));
    CHECK(std::abs(x.select(1, d).var().item<double>() - var[d]) < 5 * var[d] * std::sqrt(2.0 / n));
  }
  const double share = ((x - torch::tensor({2.0, 1.0}, torch::kFloat64)).norm(2, 1) <
                        (x - torch::tensor({-2.0, 0.0}, torch::kFloat64)).norm(2, 1)).to(torch::kFloat64).mean().item<double>();
  CHECK(std::abs(share - 0.7) < 5 * std::sqrt(0.21 / n));
}

// A network that always predicts the same data point (X0 prediction), to test one sampler step by its formula.
class ConstantX0 : public Net {
 public:
  explicit ConstantX0(torch::Tensor z) : z_(std::move(z)) {}
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor&, const torch::Tensor& = {}) override {
    return z_.expand_as(x).to(x.scalar_type());
  }

 private:
  torch::Tensor z_;
};
}  // namespace

TEST_CASE("Euler-Maruyama with several diffusion coefficients reaches the same marginals", "[math]") {
  OracleSetup setup(mixture_config());
  Oracle& oracle = *setup.oracle;
  const auto& schedule = setup.schedule;
  struct Sigma { double sigma; bool times_beta; };
  for (const Sigma& sg : {Sigma{0.5, false}, Sigma{1.0, false}, Sigma{1.5, true}}) {
    INFO("sigma " << sg.sigma << (sg.times_beta ? " * beta_t" : ""));
    SampleSpec spec;
    spec.sampler = "euler_maruyama";
    spec.steps = 400;
    spec.seed = 9;
    spec.sde_sigma = sg.sigma;
    spec.sde_sigma_times_beta = sg.times_beta;
    check_mixture(sample_range(oracle, *schedule, spec, 0, 4000, nullptr));
  }
}

TEST_CASE("DDIM and DDPM ancestral sampling reach the mixture on linear and VP paths", "[math]") {
  for (const char* path : {"linear", "vp_linear"}) {
    OracleSetup setup(mixture_config(std::string("path { name: \"") + path + "\" }"));
    Oracle& oracle = *setup.oracle;
    const auto& schedule = setup.schedule;
    for (const char* sampler : {"ddim", "ddpm"}) {
      INFO(path << " " << sampler);
      SampleSpec spec;
      spec.sampler = sampler;
      spec.steps = 200;
      spec.seed = 3;
      check_mixture(sample_range(oracle, *schedule, spec, 0, 4000, nullptr));
    }
  }
}

TEST_CASE("a DDPM step is DDPM's posterior: mean mu~ and variance beta~ on a VP path", "[math]") {
  // With alpha_bar = alpha^2 (variance preserving) and a network that predicts x0 = z^, DDPM's ancestral step is
  // x' = mu~ + sqrt(beta~) xi with mu~ = sqrt(ab') (1 - ab/ab') / (1 - ab) z^ + sqrt(ab/ab') (1 - ab') / (1 - ab) x
  // and beta~ = (1 - ab') / (1 - ab) (1 - ab/ab') (Ho et al., eq. 7). Check the residuals are N(0, 1).
  const auto s = make_schedule("vp_linear");
  const double t = 0.4, t2 = 0.45;
  const double ab = std::pow(s->at(t).alpha, 2), ab2 = std::pow(s->at(t2).alpha, 2);
  const int64_t n = 20000;
  const torch::Tensor zhat = torch::tensor({{0.7, -0.3}}, torch::kFloat64);
  ConstantX0 net(zhat);
  const torch::Tensor x = torch::linspace(-2, 2, n, torch::kFloat64).unsqueeze(1).repeat({1, 2});
  StochasticSpec spec;
  spec.eta = 1.0;
  const torch::Tensor next = solve_ddim(net, *s, Prediction::kX0, x.clone(), t, t2, 1, spec, nullptr);
  const torch::Tensor mu = std::sqrt(ab2) * (1 - ab / ab2) / (1 - ab) * zhat + std::sqrt(ab / ab2) * (1 - ab2) / (1 - ab) * x;
  const double beta_tilde = (1 - ab2) / (1 - ab) * (1 - ab / ab2);
  const torch::Tensor r = (next - mu) / std::sqrt(beta_tilde);
  CHECK(std::abs(r.mean().item<double>()) < 5 / std::sqrt(2.0 * n));
  CHECK(std::abs(r.var().item<double>() - 1) < 5 * std::sqrt(2.0 / (2.0 * n)));
  CHECK(ddim_sigma(1.0, s->at(t).alpha, s->at(t).beta, s->at(t2).alpha, s->at(t2).beta) == Approx(std::sqrt(beta_tilde)).epsilon(1e-9));
  // eta = 0: x' = alpha' z^ + beta' eps^ exactly (deterministic DDIM)
  spec.eta = 0.0;
  const torch::Tensor det = solve_ddim(net, *s, Prediction::kX0, x.clone(), t, t2, 1, spec, nullptr);
  const torch::Tensor eps_hat = (x - s->at(t).alpha * zhat) / s->at(t).beta;
  CHECK(torch::allclose(det, s->at(t2).alpha * zhat + s->at(t2).beta * eps_hat, 1e-12, 1e-12));
}

TEST_CASE("the likelihood of a single Gaussian matches its analytic log-density", "[math]") {
  for (const char* path : {"linear", "vp_linear"}) {
    INFO(path);
    const Config cfg = parse_config_text(std::string("data { name: \"gaussian_mixture\" mixture { mean: [1, -1] std: 0.5 } }\n"
                                                     "model { name: \"oracle\" } path { name: \"") + path + "\" }", "one gaussian");
    auto data = make_dataset(cfg.data(), 0);
    Oracle oracle(cfg, *data);
    const auto s = make_schedule(cfg.path());
    const torch::Tensor x = torch::tensor({{1.0, -1.0}, {0.2, 0.1}, {1.8, -1.6}}, torch::kFloat64);
    LikelihoodSpec spec;
    spec.steps = 200;
    const torch::Tensor got = log_likelihood(oracle, *s, Prediction::kVelocity, x, spec);
    const torch::Tensor expected = -0.5 * ((x - torch::tensor({1.0, -1.0}, torch::kFloat64)) / 0.5).pow(2).sum(1) -
                                   2 * (std::log(0.5) + 0.5 * std::log(2 * M_PI));
    // linear: p_0 is exactly N(0, I); vp_linear: alpha_0 = 0.0066, so p_0 is N(0, I) only up to a shift of
    // alpha_0 * mean, which moves the log-density by about alpha_0 |x - mean| |mean| / 0.25 < 0.05
    const double tol = std::string(path) == "linear" ? 1e-4 : 5e-2;
    CHECK(torch::allclose(got, expected, 0, tol));
  }
}

TEST_CASE("Hutchinson's divergence estimate is unbiased", "[math]") {
  // On the two-component mixture the Jacobian of u is not diagonal, so one Rademacher probe is not exact; its mean
  // over 2000 points matches the exact mean within 5 standard errors of the per-point differences.
  OracleSetup setup(mixture_config());
  Oracle& oracle = *setup.oracle;
  const auto& s = setup.schedule;
  const torch::Tensor many = torch::randn({2000, 2}, torch::kFloat64) + torch::tensor({0.8, 0.7}, torch::kFloat64);
  LikelihoodSpec spec;
  spec.steps = 50;
  spec.exact_dims = 0;
  const torch::Tensor hutch = log_likelihood(oracle, *s, Prediction::kVelocity, many, spec);
  spec.exact_dims = 16;
  const torch::Tensor exact = log_likelihood(oracle, *s, Prediction::kVelocity, many, spec);
  const torch::Tensor diff = hutch - exact;
  REQUIRE(diff.std().item<double>() > 0);
  CHECK(std::abs(diff.mean().item<double>()) < 5 * diff.std().item<double>() / std::sqrt(2000.0));
}

TEST_CASE("lockstep eval --likelihood reports nats and bits per dimension", "[math][cli]") {
  const std::string dir = test::temp_dir("eval-cli");
  const std::string config = dir + "/one.textproto";
  std::FILE* f = std::fopen(config.c_str(), "w");
  std::fputs("data { name: \"gaussian_mixture\" mixture { mean: [0, 0] std: 1 } } model { name: \"oracle\" }", f);
  std::fclose(f);
  const test::ProcResult r = test::run_lockstep("eval " + config + " --likelihood --num 400 --steps 20");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  // N(0, I) in 2-D: expected NLL = log(2 pi) + 1 = 2.8379 nats; 400 points give a standard error of about 0.05
  const size_t at = r.output.find("nll_nats=");
  REQUIRE(at != std::string::npos);
  CHECK(std::stod(r.output.substr(at + 9)) == Approx(2.8379).margin(0.25));
  CHECK_THAT(r.output, Catch::Contains("bits_per_dim="));
  // the report: JSON and Markdown beside the config (an oracle has no run directory)
  const std::string json = read_file(dir + "/eval-tick0.json");
  CHECK_THAT(json, Catch::Contains("\"energy_distance\": ") && Catch::Contains("\"mmd2\": [") && Catch::Contains("\"nll_nats\": ") &&
                       Catch::Contains("\"sampler\": \"euler\"") && Catch::Contains("\"weights\": \"oracle\""));
  CHECK_THAT(read_file(dir + "/eval-tick0.md"), Catch::Contains("| energy distance |") && Catch::Contains("| bits per dimension |"));
  // the oracle's samples are its data distribution: energy distance and every MMD near zero for 400 points
  const test::ProcResult q = test::run_lockstep("eval " + config + " --num 400 --report " + dir + "/plain.json");
  REQUIRE(q.exit_code == 0);
  CHECK_THAT(read_file(dir + "/plain.json"), !Catch::Contains("nll_nats"));
  CHECK(test::run_lockstep("eval " + config + " --num 1").exit_code == 2);
}

TEST_CASE("classifier-free guidance follows its formula and the class-conditional oracle samples its class", "[math]") {
  std::string text = kMixture;
  text.replace(text.find("model { name: \"oracle\" }"), 24, "model { name: \"oracle\" class_conditional: true }");
  OracleSetup setup(parse_config_text(text, "conditional mixture"));
  Oracle& oracle = *setup.oracle;
  const torch::Tensor x = torch::tensor({{0.5, 0.2}, {-1.0, 1.0}, {2.0, -0.5}}, torch::kFloat64);
  const torch::Tensor t = torch::full({3}, 0.6, torch::kFloat64);
  const torch::Tensor y = torch::tensor({1, 0, 1}, torch::kInt64);
  for (double w : {0.0, 1.0, 2.5}) {
    const Guidance g{y, w, 2};
    int64_t evals = 0;
    const torch::Tensor guided = guided_prediction(oracle, x, t, g, {}, &evals);
    const torch::Tensor expected = (1 - w) * oracle.forward(x, t, torch::full({3}, 2, torch::kInt64)) + w * oracle.forward(x, t, y);
    CHECK(torch::allclose(guided, expected, 1e-12, 1e-12));
    CHECK(evals == (w == 1.0 ? 1 : 2));
  }
  // w = 1 with class 0: every sample comes from component 0 (mean (-2, 0), std 0.5)
  SampleSpec spec;
  spec.sampler = "rk4";
  spec.steps = 50;
  spec.num_classes = 2;
  spec.class_label = 0;
  const torch::Tensor s0 = sample_range(oracle, *setup.schedule, spec, 0, 2000, nullptr).to(torch::kFloat64);
  CHECK(std::abs(s0.select(1, 0).mean().item<double>() + 2.0) < 5 * 0.5 / std::sqrt(2000.0));
  CHECK(std::abs(s0.select(1, 0).std().item<double>() - 0.5) < 5 * 0.5 / std::sqrt(2 * 2000.0));
  // default labels: class i mod 2, so half the samples in each component
  spec.class_label = -1;
  const torch::Tensor both = sample_range(oracle, *setup.schedule, spec, 0, 2000, nullptr);
  CHECK((both.select(1, 0) > 0).to(torch::kFloat64).mean().item<double>() == Approx(0.5).margin(0.01));
}

TEST_CASE("a class-conditional MLP trains with label dropout and samples the asked class", "[math][e2e][long]") {
  const std::string dir = test::temp_dir("cfg");
  const std::string config = dir + "/cond.textproto";
  std::FILE* f = std::fopen(config.c_str(), "w");
  std::fputs("data { name: \"gaussian_mixture\" mixture { mean: [-2, 0] std: 0.3 } mixture { mean: [2, 0] std: 0.3 } }\n"
             "model { class_conditional: true mlp { width: 64 } }\n"
             "train { steps: 800 eval_every: 0 label_dropout: 0.2 } sample { num: 400 }\n", f);
  std::fclose(f);
  test::ProcResult r = test::run_lockstep("train " + config + " --out " + dir + "/run");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  for (int c : {0, 1}) {
    r = test::run_lockstep("sample " + dir + "/run --class " + std::to_string(c) + " --guidance 2 --out " + dir + "/c" + std::to_string(c) + ".npy");
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.output, Catch::Contains("200.0 NFE per sample"));  // guidance: two evaluations a step
    NpyArray a = read_npy(dir + "/c" + std::to_string(c) + ".npy");
    int right = 0;
    for (size_t i = 0; i < a.data.size(); i += 2) right += (a.data[i] > 0) == (c == 1);
    CHECK(right >= 390);  // of 400: the asked class, nearly always
  }
  r = test::run_lockstep("sample " + dir + "/run --class 2");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("--class 2: gaussian_mixture has classes 0 to 1"));
}
