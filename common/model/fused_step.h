// A network's own training step: forward, loss and backward written by hand, without autograd (Net::fused_step).
//
// Contract: run() computes, for the batch slice b, the per-sample losses of the configured objective exactly as
// the autograd path does (up to float rounding) and the gradient of (their sum / global_batch), written into the
// parameters' .grad() views (the flat gradient buffer): written, not added, so the buffer need not be zeroed first.
// As each parameter's gradient is complete it calls ready(parameter index, in registration order) (the gradient
// reducer's bucket hook). Returns the sum of the slice's losses; forward_s and backward_s get the phase times.
// Collective only through `ready`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

namespace lockstep {

struct TrainBatch;

class FusedStep {
 public:
  virtual ~FusedStep() = default;
  virtual double run(const TrainBatch& b, int64_t global_batch, const std::function<void(size_t)>& ready, double* forward_s,
                     double* backward_s) = 0;
};

}  // namespace lockstep
