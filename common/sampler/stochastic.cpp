#include "common/sampler/stochastic.h"

#include <cmath>

#include "common/path/gaussian_path.h"
#include "common/rng/philox.h"

namespace lockstep {
namespace {

// N(0, I) noise of step k for the rows of x, keyed by (seed, k, global index).
torch::Tensor step_noise(const torch::Tensor& x, const StochasticSpec& spec, int64_t k) {
  const int64_t n = x.size(0), d = x.size(1);
  torch::Tensor xi = torch::empty({n, d}, torch::kFloat64);
  double* p = xi.data_ptr<double>();
  for (int64_t i = 0; i < n; ++i) {
    CounterRng rng(spec.seed, static_cast<uint64_t>(k), spec.first_index + static_cast<uint64_t>(i), Stream::kSampleSde);
    for (int64_t j = 0; j < d; ++j) *p++ = rng.normal();
  }
  return xi.to(x.device(), x.scalar_type());
}


}  // namespace

double ddim_sigma(double eta, double alpha, double beta, double alpha_next, double beta_next) {
  if (eta == 0.0 || beta <= 0.0 || alpha_next <= 0.0) return 0.0;
  const double ratio = (alpha * beta_next) / (alpha_next * beta);
  return eta * beta_next * std::sqrt(std::max(0.0, 1.0 - ratio * ratio));
}

torch::Tensor solve_euler_maruyama(Net& net, const Schedule& s, Prediction kind, torch::Tensor x, double t0, double t1,
                                   int64_t steps, const StochasticSpec& spec, double* nfe) {
  torch::InferenceMode guard;
  const double h = (t1 - t0) / static_cast<double>(steps);
  torch::Tensor t = torch::empty({x.size(0)}, x.options());
  for (int64_t k = 0; k < steps; ++k) {
    const double tk = t0 + h * static_cast<double>(k);
    t.fill_(tk);
    const PathTensors p = path_tensors(s, t);
    const DataNoise dn = decompose(kind, guided_prediction(net, x, t, spec.guidance), x, p);
    const torch::Tensor u = compose(Prediction::kVelocity, dn, p);
    const double sigma = spec.sigma * (spec.sigma_times_beta ? s.at(tk).beta : 1.0);
    torch::Tensor drift = u;
    if (sigma > 0) drift = u + (0.5 * sigma * sigma) * compose(Prediction::kScore, dn, p);
    x = x + h * drift;
    if (sigma > 0) x = x + (sigma * std::sqrt(h)) * step_noise(x, spec, k);
  }
  if (nfe) *nfe = static_cast<double>(steps);
  return x;
}

torch::Tensor solve_ddim(Net& net, const Schedule& s, Prediction kind, torch::Tensor x, double t0, double t1,
                         int64_t steps, const StochasticSpec& spec, double* nfe) {
  torch::InferenceMode guard;
  const double h = (t1 - t0) / static_cast<double>(steps);
  torch::Tensor t = torch::empty({x.size(0)}, x.options());
  for (int64_t k = 0; k < steps; ++k) {
    const double tk = t0 + h * static_cast<double>(k), tn = k + 1 == steps ? t1 : tk + h;
    t.fill_(tk);
    const PathPoint a = s.at(tk), b = s.at(tn);
    const DataNoise dn = decompose(kind, guided_prediction(net, x, t, spec.guidance), x, path_tensors(s, t));
    const double sigma = ddim_sigma(spec.eta, a.alpha, a.beta, b.alpha, b.beta);
    const double keep = std::sqrt(std::max(0.0, b.beta * b.beta - sigma * sigma));
    x = b.alpha * dn.z + keep * dn.eps;
    if (sigma > 0) x = x + sigma * step_noise(x, spec, k);
  }
  if (nfe) *nfe = static_cast<double>(steps);
  return x;
}

}  // namespace lockstep
