// The training losses, one per prediction type, each a regression on what the network predicts:
//   VELOCITY  conditional flow matching      || u_theta(x_t, t) - (d_alpha z + d_beta eps) ||^2
//   SCORE     denoising score matching       || beta_t s_theta(x_t, t) + eps ||^2   (= beta^2 || s_theta - (-eps/beta) ||^2:
//                                            the beta^2 weighting keeps it finite where beta -> 0)
//   EPSILON   DDPM noise prediction          || eps_theta(x_t, t) - eps ||^2
//   X0        data prediction                || z_theta(x_t, t) - z ||^2
// with x_t = alpha_t z + beta_t eps, each multiplied by the per-time weight lambda(t) of the LossWeight.
// Contract: per-sample losses [n] (squared norms over the item's dimensions).
#pragma once

#include <torch/torch.h>

#include "common/data/batch.h"
#include "common/model/net.h"
#include "common/path/parametrization.h"
#include "common/path/schedule.h"

namespace lockstep {

struct LossWeight {
  int kind = 0;         // TrainConfig::LossWeighting
  double gamma = 5.0;   // MIN_SNR
};

torch::Tensor loss_per_sample(Net& net, const Schedule& s, Prediction kind, const TrainBatch& b, const LossWeight& w = {});
// train.loss CLASSIFY: the cross-entropy [n] of the labels b.y given the clean items b.z (the network's output
// is the logits); times and noise are not used.
torch::Tensor classification_loss_per_sample(Net& net, const TrainBatch& b);
// lambda(t) [n] for the times t [n].
torch::Tensor loss_weight(const Schedule& s, const torch::Tensor& t, const LossWeight& w);

}  // namespace lockstep
