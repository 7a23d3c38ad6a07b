// The Gaussian probability path p_t(x|z) = N(alpha_t z, beta_t^2 I) as tensors, and its conditional vector field
// (course notes, "Gaussian probability paths"; t = 0 noise, t = 1 data).
//
// With x_t = alpha_t z + beta_t eps, the conditional vector field is
//     u_t(x|z) = (d_alpha - (d_beta / beta) alpha) z + (d_beta / beta) x  =  d_alpha z + d_beta eps,
// which is z - eps on the linear (CondOT) path. Contract: pure tensor functions of their inputs, nothing stored;
// no model or data here (the losses in common/loss/ build on these).
#pragma once

#include <torch/torch.h>

#include "common/path/schedule.h"

namespace lockstep {

struct PathTensors {
  torch::Tensor alpha, beta, d_alpha, d_beta;  // each [n, 1], on the device and in the precision of the times
};
PathTensors path_tensors(const Schedule& s, const torch::Tensor& t);
// The same numbers as columns [n, 4] (alpha, beta, d_alpha, d_beta) on the host, in t's precision, computed ahead where
// a loss may not read t back to the host (TrainBatch::path, CUDA graphs); path_from_columns(c) gives them back as
// path_tensors lays them out, on c's device.
torch::Tensor path_columns(const Schedule& s, const torch::Tensor& t);
PathTensors path_from_columns(const torch::Tensor& columns);

// x_t = alpha_t z + beta_t eps.
torch::Tensor path_sample(const PathTensors& p, const torch::Tensor& z, const torch::Tensor& eps);
// u_t(x|z) = (d_alpha - (d_beta / beta) alpha) z + (d_beta / beta) x, the course's formula.
torch::Tensor conditional_vector_field(const PathTensors& p, const torch::Tensor& x, const torch::Tensor& z);
// The same target written with the noise: d_alpha z + d_beta eps (exact, and stable where beta -> 0).
torch::Tensor cfm_target(const PathTensors& p, const torch::Tensor& z, const torch::Tensor& eps);

}  // namespace lockstep
