#include "common/loss/losses.h"

#include "common/loss/flow_matching.h"

namespace lockstep {
namespace {

torch::Tensor unweighted_loss(Net& net, const Schedule& s, Prediction kind, const TrainBatch& b) {
  if (kind == Prediction::kVelocity) return cfm_loss_per_sample(net, s, b);
  const PathTensors p = path_of(s, b);
  const torch::Tensor x = path_sample(p, b.z, b.eps);
  const torch::Tensor out = net.forward(x, b.t, b.y);
  switch (kind) {
    case Prediction::kScore: return (p.beta * out + b.eps).pow(2).sum(1);
    case Prediction::kEpsilon: return (out - b.eps).pow(2).sum(1);
    default: return (out - b.z).pow(2).sum(1);  // X0
  }
}

}  // namespace

static torch::Tensor weight_at(const PathTensors& p, const torch::Tensor& t, const LossWeight& w) {
  const torch::Tensor snr = (p.alpha / p.beta).pow(2).squeeze(1);
  switch (w.kind) {
    case 1: return snr;
    case 2: return torch::clamp_max(snr, w.gamma);
    case 3: return torch::clamp_min(snr, 1.0);
    default: return torch::ones_like(t);
  }
}

torch::Tensor loss_weight(const Schedule& s, const torch::Tensor& t, const LossWeight& w) { return weight_at(path_tensors(s, t), t, w); }

torch::Tensor loss_per_sample(Net& net, const Schedule& s, Prediction kind, const TrainBatch& b, const LossWeight& w) {
  torch::Tensor loss = unweighted_loss(net, s, kind, b);
  if (w.kind != 0) loss = loss * weight_at(path_of(s, b), b.t, w);
  return loss;
}

torch::Tensor classification_loss_per_sample(Net& net, const TrainBatch& b) {
  const torch::Tensor logits = net.forward(b.z, b.t);
  return torch::nn::functional::cross_entropy(logits, b.y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
}

}  // namespace lockstep
