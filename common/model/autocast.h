// Mixed precision for the network's forward pass (train.precision "bf16_mixed").
//
// Contract: while an AutocastScope(true, ...) lives, LibTorch's autocast runs matrix products and convolutions
// in bfloat16 on the given device kind (CPU, or CUDA when `cuda`); parameters, gradients and the optimizer
// stay float32 (Net::forward returns float32). Leaving the scope clears autocast's weight-cast cache, so the
// next scope sees the updated parameters. AutocastScope(false, ...) does nothing. Scopes do not nest.
#pragma once

namespace lockstep {

class AutocastScope {
 public:
  AutocastScope(bool bf16, bool cuda);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_, cuda_;
};

}  // namespace lockstep
