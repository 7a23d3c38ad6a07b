#include "common/sampler/flow_map.h"

#include "common/util/error.h"

namespace lockstep {

torch::Tensor solve_flow_map(Net& net, torch::Tensor x, double t0, double t1, int64_t steps, const Guidance& g, double* nfe) {
  LS_CHECK_INPUT(net.flow_map(), "sampler \"tvm\" needs a flow-map network (a model trained with train.loss TVM)");
  LS_CHECK(steps >= 1, "solve_flow_map: steps " << steps);
  torch::NoGradGuard no_grad;
  const int64_t n = x.size(0);
  const auto opts = torch::TensorOptions(torch::kFloat32).device(x.device());
  const bool conditional = g.y.defined();
  const bool as_input = conditional && net.guidance_input();
  const bool cfg_pair = conditional && !as_input && g.scale != 1.0;
  const torch::Tensor y = conditional ? g.y.to(x.device()) : torch::Tensor();
  const torch::Tensor w = as_input ? torch::full({n}, g.scale, opts) : torch::Tensor();
  const torch::Tensor null_y = cfg_pair ? torch::full_like(y, g.null_class) : torch::Tensor();
  for (int64_t k = 0; k < steps; ++k) {
    const double a = t0 + (t1 - t0) * static_cast<double>(k) / static_cast<double>(steps);
    const double b = k + 1 == steps ? t1 : t0 + (t1 - t0) * static_cast<double>(k + 1) / static_cast<double>(steps);
    const torch::Tensor ta = torch::full({n}, a, opts), tb = torch::full({n}, b, opts);
    torch::Tensor F = net.forward_map(x, ta, tb, y, w);
    if (cfg_pair) F = (1.0 - g.scale) * net.forward_map(x, ta, tb, null_y, {}) + g.scale * F;
    x = x + (b - a) * F;
  }
  if (nfe) *nfe = static_cast<double>(steps) * (cfg_pair ? 2 : 1);
  return x;
}

}  // namespace lockstep
