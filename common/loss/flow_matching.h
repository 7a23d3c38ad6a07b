// Conditional flow matching (course notes, "conditional flow matching loss") on a Gaussian path.
//
// With x_t = alpha_t z + beta_t eps, the conditional vector field is
//     u_t(x|z) = (d_alpha - (d_beta / beta) alpha) z + (d_beta / beta) x  =  d_alpha z + d_beta eps,
// which is z - eps on the linear (CondOT) path. The per-sample loss is || u_theta(x_t, t) - u_t(x_t|z) ||^2
// (squared norm over the item's dimensions). Contract: pure functions of their inputs; nothing is stored.
#pragma once

#include <torch/torch.h>

#include "common/data/batch.h"
#include "common/model/net.h"
#include "common/path/schedule.h"

namespace lockstep {

struct PathTensors {
  torch::Tensor alpha, beta, d_alpha, d_beta;  // each [n, 1]
};
PathTensors path_tensors(const Schedule& s, const torch::Tensor& t);

// x_t = alpha_t z + beta_t eps.
torch::Tensor path_sample(const PathTensors& p, const torch::Tensor& z, const torch::Tensor& eps);
// u_t(x|z) = (d_alpha - (d_beta / beta) alpha) z + (d_beta / beta) x, the course's formula.
torch::Tensor conditional_vector_field(const PathTensors& p, const torch::Tensor& x, const torch::Tensor& z);
// The same target written with the noise: d_alpha z + d_beta eps (exact, and stable where beta -> 0).
torch::Tensor cfm_target(const PathTensors& p, const torch::Tensor& z, const torch::Tensor& eps);

// Per-sample CFM loss [n] of the network on the batch.
torch::Tensor cfm_loss_per_sample(Net& net, const Schedule& s, const TrainBatch& b);

}  // namespace lockstep
