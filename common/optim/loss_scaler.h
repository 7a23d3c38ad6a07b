// The dynamic loss scale of train.precision "fp16_mixed" (LossScaleConfig in config.proto): the rule of PyTorch's
// GradScaler, with the skip decided from the all-reduced gradients, so that every rank decides alike.
//
// Contract: scale() is what this tick's loss is multiplied by before backward. After the all-reduce, the worker
// divides the gradients by scale() and calls update(finite) with whether all of them are finite; update returns
// whether the optimizer may step. A non-finite tick multiplies the scale by backoff_factor and restarts the count
// of good ticks; growth_interval good ticks in a row multiply it by growth_factor and restart the count. The state
// (scale(), good_ticks()) round-trips through restore() bit for bit. loss_scale_exhausted(scale): the scale has
// fallen below kMinLossScale, where float16 gradients cannot be finite at any scale (the coordinator stops the run).
// No torch.
#pragma once

#include <cstdint>

namespace lockstep {

class LossScaleConfig;

constexpr double kMinLossScale = 1.0 / (1 << 24);  // float16's smallest subnormal number is 2^-24
constexpr bool loss_scale_exhausted(double scale) { return scale < kMinLossScale; }

class LossScaler {
 public:
  explicit LossScaler(const LossScaleConfig& cfg);
  double scale() const { return scale_; }
  uint64_t good_ticks() const { return good_; }
  bool update(bool finite);
  void restore(double scale, uint64_t good_ticks);

 private:
  double scale_, growth_, backoff_;
  uint64_t interval_, good_ = 0;
};

}  // namespace lockstep
