#include "common/metrics/likelihood.h"

#include <cmath>

#include "common/path/gaussian_path.h"
#include "common/rng/philox.h"

namespace lockstep {
namespace {

struct Derivative {
  torch::Tensor u, div;  // [n, d], [n]
};

// u and its divergence at (x, t); `probe` is used above exact_dims.
Derivative field(Net& net, const Schedule& s, Prediction kind, const torch::Tensor& x_in, double t,
                 const torch::Tensor& probe, int64_t exact_dims) {
  torch::Tensor x = x_in.detach().requires_grad_(true);
  const torch::Tensor tt = torch::full({x.size(0)}, t, x.options().requires_grad(false));
  torch::Tensor out = net.forward(x, tt);
  if (kind != Prediction::kVelocity) out = convert(kind, Prediction::kVelocity, out, x, path_tensors(s, tt));
  const int64_t d = x.size(1);
  torch::Tensor div = torch::zeros({x.size(0)}, x.options());
  if (d <= exact_dims) {
    for (int64_t k = 0; k < d; ++k) {
      const torch::Tensor g = torch::autograd::grad({out.select(1, k).sum()}, {x}, {}, /*retain_graph=*/true)[0];
      div = div + g.select(1, k);
    }
  } else {
    const torch::Tensor g = torch::autograd::grad({(out * probe).sum()}, {x}, {}, /*retain_graph=*/false)[0];
    div = (g * probe).sum(1);
  }
  return {out.detach(), div.detach()};
}

}  // namespace

torch::Tensor log_likelihood(Net& net, const Schedule& s, Prediction kind, const torch::Tensor& x_data,
                             const LikelihoodSpec& spec) {
  const int64_t n = x_data.size(0), d = x_data.size(1);
  torch::Tensor probe;
  if (d > spec.exact_dims) {  // one Rademacher probe per sample, keyed by (seed, i)
    probe = torch::empty({n, d}, torch::kFloat32);
    float* p = probe.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
      CounterRng rng(spec.seed, 0, spec.first_index + static_cast<uint64_t>(i), Stream::kSampleSde);
      for (int64_t k = 0; k < d; ++k) *p++ = (rng.next_u32() & 1u) ? 1.0f : -1.0f;
    }
    probe = probe.to(x_data.device(), x_data.scalar_type());
  }
  // RK4 backwards in time on (x, integral of div u).
  torch::Tensor x = x_data.detach().clone();
  torch::Tensor integral = torch::zeros({n}, x.options());
  const double h = -(spec.t_max - spec.t_min) / static_cast<double>(spec.steps);
  for (int64_t k = 0; k < spec.steps; ++k) {
    const double t = spec.t_max + h * static_cast<double>(k);
    const Derivative k1 = field(net, s, kind, x, t, probe, spec.exact_dims);
    const Derivative k2 = field(net, s, kind, x + (0.5 * h) * k1.u, t + 0.5 * h, probe, spec.exact_dims);
    const Derivative k3 = field(net, s, kind, x + (0.5 * h) * k2.u, t + 0.5 * h, probe, spec.exact_dims);
    const Derivative k4 = field(net, s, kind, x + h * k3.u, t + h, probe, spec.exact_dims);
    x = x + (h / 6.0) * (k1.u + 2.0 * k2.u + 2.0 * k3.u + k4.u);
    integral = integral + (h / 6.0) * (k1.div + 2.0 * k2.div + 2.0 * k3.div + k4.div);
  }
  // integral now holds int_{t_max}^{t_min} div u dt = -int_{t_min}^{t_max} div u dt
  const double sigma0 = s.at(spec.t_min).beta;
  const torch::Tensor log_p0 =
      -0.5 * (x / sigma0).pow(2).sum(1) - static_cast<double>(d) * (std::log(sigma0) + 0.5 * std::log(2 * M_PI));
  return log_p0 + integral;
}

}  // namespace lockstep
