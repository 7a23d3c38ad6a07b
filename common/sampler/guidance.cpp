#include "common/sampler/guidance.h"

namespace lockstep {

torch::Tensor guided_prediction(Net& net, const torch::Tensor& x, const torch::Tensor& t, const Guidance& g,
                                const torch::Tensor& rows, int64_t* evals) {
  if (!g.y.defined()) {
    if (evals) *evals += 1;
    return net.forward(x, t);
  }
  const torch::Tensor y = (rows.defined() ? g.y.index_select(0, rows.to(g.y.device())) : g.y).to(x.device());
  const torch::Tensor conditional = net.forward(x, t, y);
  if (g.scale == 1.0) {
    if (evals) *evals += 1;
    return conditional;
  }
  const torch::Tensor unconditional = net.forward(x, t, torch::full_like(y, g.null_class));
  if (evals) *evals += 2;
  return unconditional + g.scale * (conditional - unconditional);
}

}  // namespace lockstep
