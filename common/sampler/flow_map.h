// Few-step sampling with a flow-map network (train.loss TVM, sample.sampler "tvm").
//
// Contract: K = steps jumps on the even grid t_k = t0 + (t1 - t0) k / K: x <- x + (t_{k+1} - t_k) F(x, t_k, t_{k+1} | y, w).
// With guidance w != 1: a network that takes the guidance scale as input gets it (one evaluation a jump); one
// trained without it gets classifier-free guidance on the jump, (1 - w) F(x, ., . | null) + w F(x, ., . | y) (two).
// Row by row, so any split of the samples gives the same samples; *nfe = network evaluations per sample.
#pragma once

#include <torch/torch.h>

#include "common/model/net.h"
#include "common/sampler/guidance.h"

namespace lockstep {

torch::Tensor solve_flow_map(Net& net, torch::Tensor x, double t0, double t1, int64_t steps, const Guidance& g, double* nfe);

}  // namespace lockstep
