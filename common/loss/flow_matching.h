// Conditional flow matching (course notes, "conditional flow matching loss") on a Gaussian path
// (common/path/gaussian_path.h).
//
// The per-sample loss is || u_theta(x_t, t) - u_t(x_t|z) ||^2 (squared norm over the item's dimensions), with
// x_t = alpha_t z + beta_t eps and the target u_t(x_t|z) = d_alpha z + d_beta eps. Contract: a pure function of its
// inputs; nothing is stored.
#pragma once

#include <torch/torch.h>

#include "common/data/batch.h"
#include "common/model/net.h"
#include "common/path/gaussian_path.h"
#include "common/path/schedule.h"

namespace lockstep {

// The path at the batch's times: its precomputed columns (TrainBatch::path) where it has them, else from t.
PathTensors path_of(const Schedule& s, const TrainBatch& b);
// Per-sample CFM loss [n] of the network on the batch.
torch::Tensor cfm_loss_per_sample(Net& net, const Schedule& s, const TrainBatch& b);

}  // namespace lockstep
