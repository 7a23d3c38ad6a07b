#include "common/loss/losses.h"

#include "common/loss/flow_matching.h"

namespace lockstep {

torch::Tensor loss_per_sample(Net& net, const Schedule& s, Prediction kind, const TrainBatch& b) {
  if (kind == Prediction::kVelocity) return cfm_loss_per_sample(net, s, b);
  const PathTensors p = path_tensors(s, b.t);
  const torch::Tensor x = path_sample(p, b.z, b.eps);
  const torch::Tensor out = net.forward(x, b.t, b.y);
  switch (kind) {
    case Prediction::kScore: return (p.beta * out + b.eps).pow(2).sum(1);
    case Prediction::kEpsilon: return (out - b.eps).pow(2).sum(1);
    default: return (out - b.z).pow(2).sum(1);  // X0
  }
}

}  // namespace lockstep
