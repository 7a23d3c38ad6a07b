#include "common/sampler/ode.h"

#include "common/rng/philox.h"
#include "common/util/error.h"

namespace lockstep {

torch::Tensor initial_noise(const Schedule& s, const SampleSpec& spec, uint64_t begin, uint64_t end) {
  const int64_t n = static_cast<int64_t>(end - begin);
  torch::Tensor x = torch::empty({n, spec.dim}, torch::kFloat32);
  float* p = x.data_ptr<float>();
  const double scale = s.at(spec.t_min).beta;
  for (uint64_t i = begin; i < end; ++i) {
    CounterRng rng(spec.seed, 0, i, Stream::kSampleInit);
    for (int64_t k = 0; k < spec.dim; ++k) *p++ = static_cast<float>(scale * rng.normal());
  }
  return x;
}

torch::Tensor euler_solve(Net& net, torch::Tensor x, double t0, double t1, int64_t steps, int64_t* nfe) {
  torch::InferenceMode guard;
  const double h = (t1 - t0) / static_cast<double>(steps);
  torch::Tensor t = torch::empty({x.size(0)}, x.options());
  for (int64_t k = 0; k < steps; ++k) {
    t.fill_(t0 + h * static_cast<double>(k));
    x = x + h * net.forward(x, t);
  }
  if (nfe) *nfe = steps;
  return x;
}

torch::Tensor sample_range(Net& net, const Schedule& s, const SampleSpec& spec, uint64_t begin, uint64_t end,
                           int64_t* nfe) {
  const auto params = net.parameters();
  const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
  torch::Tensor x = initial_noise(s, spec, begin, end).to(device);
  if (spec.sampler == "euler") return euler_solve(net, x, spec.t_min, spec.t_max, spec.steps, nfe).to(torch::kCPU);
  throw InternalError("sample_range: unknown sampler '" + spec.sampler + "' (validation should have refused it)");
}

}  // namespace lockstep
