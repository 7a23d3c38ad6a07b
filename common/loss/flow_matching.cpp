#include "common/loss/flow_matching.h"

namespace lockstep {

PathTensors path_of(const Schedule& s, const TrainBatch& b) {
  return b.path.defined() ? path_from_columns(b.path) : path_tensors(s, b.t);
}

torch::Tensor cfm_loss_per_sample(Net& net, const Schedule& s, const TrainBatch& b) {
  const PathTensors p = path_of(s, b);
  const torch::Tensor x = path_sample(p, b.z, b.eps);
  const torch::Tensor target = cfm_target(p, b.z, b.eps);
  return (net.forward(x, b.t, b.y) - target).pow(2).sum(1);
}

}  // namespace lockstep
