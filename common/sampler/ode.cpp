#include "common/sampler/ode.h"

#include <cmath>

#include "common/path/gaussian_path.h"
#include "common/rng/philox.h"
#include "common/sampler/flow_map.h"
#include "common/sampler/stochastic.h"
#include "common/util/error.h"

namespace lockstep {

torch::Tensor sample_labels(const SampleSpec& spec, uint64_t begin, uint64_t end) {
  if (spec.num_classes <= 0) return {};
  const int64_t n = static_cast<int64_t>(end - begin);
  if (spec.class_label >= 0) return torch::full({n}, spec.class_label, torch::kInt64);
  return torch::arange(static_cast<int64_t>(begin), static_cast<int64_t>(end), torch::kInt64).remainder(spec.num_classes);
}

Field velocity_field(Net& net, const Schedule& s, Prediction kind, const Guidance& g) {
  return [&net, &s, kind, g](const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& rows) {
    const torch::Tensor out = guided_prediction(net, x, t, g, rows);
    if (kind == Prediction::kVelocity) return out;
    return convert(kind, Prediction::kVelocity, out, x, path_tensors(s, t));
  };
}

namespace {

// rows [begin, end) of spec.init
torch::Tensor init_rows(const SampleSpec& spec, uint64_t begin, uint64_t end) {
  LS_CHECK(end <= static_cast<uint64_t>(spec.init->size(0)), "init_rows: samples up to " << end << ", --init has " << spec.init->size(0));
  return spec.init->narrow(0, static_cast<int64_t>(begin), static_cast<int64_t>(end - begin)).to(torch::kFloat32).clone();
}

}  // namespace

torch::Tensor source_draws(const SampleSpec& spec, uint64_t begin, uint64_t end) {
  if (spec.init) return init_rows(spec, begin, end);
  LS_CHECK(spec.source, "source_draws: the spec has no source");
  torch::Tensor x = torch::empty({static_cast<int64_t>(end - begin), spec.dim}, torch::kFloat32);
  float* p = x.data_ptr<float>();
  for (uint64_t i = begin; i < end; ++i, p += spec.dim) {
    CounterRng rng(spec.seed, 0, i, Stream::kSampleInit);
    spec.source->fresh(rng, p);
  }
  return x;
}

torch::Tensor initial_noise(const Schedule& s, const SampleSpec& spec, uint64_t begin, uint64_t end) {
  if (spec.init && !spec.init_is_data) return init_rows(spec, begin, end);
  if (spec.source && !spec.init) return source_draws(spec, begin, end);
  torch::Tensor x = torch::empty({static_cast<int64_t>(end - begin), spec.dim}, torch::kFloat32);
  float* p = x.data_ptr<float>();
  const PathPoint at = s.at(spec.t_min);
  // with spec.init (init_is_data): the data noised to t_min (SDEdit), alpha x + beta eps, eps the seeded draws
  const torch::Tensor z = spec.init ? init_rows(spec, begin, end) : torch::Tensor();
  const float* zp = z.defined() ? z.data_ptr<float>() : nullptr;
  for (uint64_t i = begin; i < end; ++i) {
    CounterRng rng(spec.seed, 0, i, Stream::kSampleInit);
    for (int64_t k = 0; k < spec.dim; ++k) {
      const double eps = at.beta * rng.normal();
      *p++ = static_cast<float>(zp ? at.alpha * *zp++ + eps : eps);
    }
  }
  return x;
}

torch::Tensor solve_fixed(const std::string& method, const Field& f_in, torch::Tensor x, double t0, double t1,
                          int64_t steps, double* nfe) {
  torch::InferenceMode guard;
  const double h = (t1 - t0) / static_cast<double>(steps);
  torch::Tensor t = torch::empty({x.size(0)}, x.options());
  auto at = [&](double time) { return t.fill_(time); };
  auto f = [&f_in](const torch::Tensor& a, const torch::Tensor& b) { return f_in(a, b, torch::Tensor()); };
  int64_t evals = 0;
  for (int64_t k = 0; k < steps; ++k) {
    const double tk = t0 + h * static_cast<double>(k);
    if (method == "euler") {
      x = x + h * f(x, at(tk));
      evals += 1;
    } else if (method == "midpoint") {
      const torch::Tensor k1 = f(x, at(tk));
      x = x + h * f(x + (0.5 * h) * k1, at(tk + 0.5 * h));
      evals += 2;
    } else if (method == "heun") {
      const torch::Tensor k1 = f(x, at(tk));
      const torch::Tensor k2 = f(x + h * k1, at(tk + h));
      x = x + (0.5 * h) * (k1 + k2);
      evals += 2;
    } else if (method == "rk4") {
      const torch::Tensor k1 = f(x, at(tk));
      const torch::Tensor k2 = f(x + (0.5 * h) * k1, at(tk + 0.5 * h));
      const torch::Tensor k3 = f(x + (0.5 * h) * k2, at(tk + 0.5 * h));
      const torch::Tensor k4 = f(x + h * k3, at(tk + h));
      x = x + (h / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4);
      evals += 4;
    } else {
      throw InternalError("solve_fixed: unknown method '" + method + "'");
    }
  }
  if (nfe) *nfe = static_cast<double>(evals);
  return x;
}

torch::Tensor solve_dopri5(const Field& f, torch::Tensor x, double t0, double t1, double first_step, double atol,
                           double rtol, double* nfe) {
  torch::InferenceMode guard;
  // Dormand-Prince 5(4) tableau.
  static const double c[7] = {0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1};
  static const double a[7][6] = {
      {},
      {1.0 / 5},
      {3.0 / 40, 9.0 / 40},
      {44.0 / 45, -56.0 / 15, 32.0 / 9},
      {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
      {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
      {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84}};
  static const double b4[7] = {5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40};
  const int64_t n = x.size(0);
  const auto opts = x.options();
  torch::Tensor t = torch::full({n}, t0, opts);
  torch::Tensor h = torch::full({n}, first_step, opts);
  torch::Tensor evals = torch::zeros({n}, opts);
  torch::Tensor active = torch::ones({n}, torch::kBool);
  for (int iter = 0; iter < 100000 && active.any().item<bool>(); ++iter) {
    const torch::Tensor idx_host = active.nonzero().squeeze(1);
    const torch::Tensor idx = idx_host.to(x.device());
    const torch::Tensor xa = x.index_select(0, idx), ta = t.index_select(0, idx);
    const torch::Tensor ha = torch::minimum(h.index_select(0, idx), t1 - ta);  // do not step past t1
    const torch::Tensor hc = ha.unsqueeze(1);
    torch::Tensor k[7];
    for (int s = 0; s < 7; ++s) {
      torch::Tensor xs = xa;
      for (int j = 0; j < s; ++j) if (a[s][j] != 0) xs = xs + (a[s][j] * hc) * k[j];
      k[s] = f(xs, ta + c[s] * ha, idx);
    }
    const torch::Tensor y5 = xa + hc * (a[6][0] * k[0] + a[6][2] * k[2] + a[6][3] * k[3] + a[6][4] * k[4] + a[6][5] * k[5]);
    torch::Tensor y4 = xa;
    for (int s = 0; s < 7; ++s) if (b4[s] != 0) y4 = y4 + (b4[s] * hc) * k[s];
    const torch::Tensor scale = atol + rtol * torch::maximum(xa.abs(), y5.abs());
    const torch::Tensor err = ((y5 - y4) / scale).pow(2).mean(1).sqrt();
    const torch::Tensor accept = err <= 1.0;
    const torch::Tensor factor = torch::clamp(0.9 * torch::pow(err.clamp_min(1e-10), -0.2), 0.2, 5.0);
    x.index_copy_(0, idx, torch::where(accept.unsqueeze(1), y5, xa));
    const torch::Tensor t_new = torch::where(accept, ta + ha, ta);
    t.index_copy_(0, idx, t_new);
    h.index_copy_(0, idx, ha * factor);
    evals.index_add_(0, idx, torch::full({idx.size(0)}, 7.0, opts));
    active.index_copy_(0, idx_host, (t_new < t1 - 1e-12 * std::max(1.0, std::abs(t1))).to(torch::kCPU));
  }
  LS_CHECK(!active.any().item<bool>(), "dopri5 did not reach t = " << t1 << " in 100000 steps");
  if (nfe) *nfe = evals.mean().item<double>();
  return x;
}

torch::Tensor sample_range(Net& net, const Schedule& s, const SampleSpec& spec, uint64_t begin, uint64_t end,
                           double* nfe) {
  const auto params = net.parameters();
  const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
  torch::Tensor x = initial_noise(s, spec, begin, end).to(device);
  const Guidance g{sample_labels(spec, begin, end), spec.guidance, spec.num_classes};
  const Field f = velocity_field(net, s, spec.prediction, g);
  torch::Tensor out;
  StochasticSpec st;
  st.seed = spec.seed;
  st.first_index = begin;
  st.sigma = spec.sde_sigma;
  st.sigma_times_beta = spec.sde_sigma_times_beta;
  st.eta = spec.sampler == "ddpm" ? 1.0 : spec.eta;
  st.guidance = g;
  if (spec.sampler == "euler_maruyama") {
    out = solve_euler_maruyama(net, s, spec.prediction, x, spec.t_min, spec.t_max, spec.steps, st, nfe);
  } else if (spec.sampler == "ddim" || spec.sampler == "ddpm") {
    out = solve_ddim(net, s, spec.prediction, x, spec.t_min, spec.t_max, spec.steps, st, nfe);
  } else if (spec.sampler == "tvm") {
    out = solve_flow_map(net, x, spec.t_min, spec.t_max, spec.steps, g, nfe);
    return out.to(torch::kCPU);  // nfe already counts guidance
  } else if (spec.sampler == "dopri5") {
    out = solve_dopri5(f, x, spec.t_min, spec.t_max, (spec.t_max - spec.t_min) / static_cast<double>(spec.steps),
                       spec.atol, spec.rtol, nfe);
  } else {
    out = solve_fixed(spec.sampler, f, x, spec.t_min, spec.t_max, spec.steps, nfe);
  }
  if (nfe && g.y.defined() && g.scale != 1.0) *nfe *= 2;  // guided: two network evaluations per field evaluation
  return out.to(torch::kCPU);
}

}  // namespace lockstep
