// Terminal Velocity Matching (train.loss TVM; Zhou et al., arXiv 2511.19797) in Lockstep's convention (t = 0 noise,
// t = 1 data, the linear path x_t = t z + (1 - t) eps).
//
// Contract: for a flow-map network F (net.h) and a batch with jumps t -> s, flow-matching times r and guidance
// scales w (batch.h, TimeSpec.tvm), per sample [n]:
//   terminal = || F + (s - t) dF/ds - F_target(f, s, s | y, w) ||^2 / w^2,   f = x_t + (s - t) F,  F = F(x_t, t, s | y, w)
//   fm       = || F(x_r, r, r | y, w) - v ||^2 / w^2,   v = z - eps, or with guidance w (z - eps) + (1 - w) F_target(x_r, r, r | null, 1)
// F_target runs without gradient on detached inputs (the target network, held by the caller). The gradients in
// the online network's parameters flow through F and through the JVP dF/ds (kept in the graph by both methods).
#pragma once

#include <torch/torch.h>

#include <utility>

#include "common/data/batch.h"
#include "common/model/net.h"

namespace lockstep {

enum class JvpMethod { kForward, kDoubleBackward };

// (F(x, t, s | y, w), dF/ds): the Jacobian-vector product of the network in its end-time input with tangent 1, by
// forward-mode automatic differentiation (LibTorch's dual tensors) or by the double-backward construction
// (g(u) = (dF/ds)^T u by reverse mode with a graph, then dF/ds = dg/du). Both keep the graph of the parameters;
// under NoGradGuard the forward method still works (held-out losses), the double-backward method turns grad mode
// on locally.
std::pair<torch::Tensor, torch::Tensor> flow_map_jvp(Net& net, const torch::Tensor& x, const torch::Tensor& t,
                                                     const torch::Tensor& s, const torch::Tensor& y, const torch::Tensor& w,
                                                     JvpMethod method);

struct TvmTerms {
  torch::Tensor terminal, fm;  // [n] each
};
TvmTerms tvm_terms(Net& net, Net& target, const TrainBatch& b, JvpMethod method, int64_t null_class);
// terminal + fm_weight * fm, [n].
torch::Tensor tvm_loss_per_sample(Net& net, Net& target, const TrainBatch& b, JvpMethod method, double fm_weight,
                                  int64_t null_class);

}  // namespace lockstep
