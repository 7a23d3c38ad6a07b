#include "common/loss/flow_matching.h"

namespace lockstep {

torch::Tensor cfm_loss_per_sample(Net& net, const Schedule& s, const TrainBatch& b) {
  const PathTensors p = path_tensors(s, b.t);
  const torch::Tensor x = path_sample(p, b.z, b.eps);
  const torch::Tensor target = cfm_target(p, b.z, b.eps);
  return (net.forward(x, b.t, b.y) - target).pow(2).sum(1);
}

}  // namespace lockstep
