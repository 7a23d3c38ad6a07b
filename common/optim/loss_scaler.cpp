#include "common/optim/loss_scaler.h"

#include "common/proto/config.pb.h"

namespace lockstep {

LossScaler::LossScaler(const LossScaleConfig& cfg)
    : scale_(cfg.init_scale()), growth_(cfg.growth_factor()), backoff_(cfg.backoff_factor()), interval_(cfg.growth_interval()) {}

bool LossScaler::update(bool finite) {
  if (!finite) {
    scale_ *= backoff_;
    good_ = 0;
    return false;
  }
  if (++good_ >= interval_) {
    scale_ *= growth_;
    good_ = 0;
  }
  return true;
}

void LossScaler::restore(double scale, uint64_t good_ticks) {
  scale_ = scale;
  good_ = good_ticks;
}

}  // namespace lockstep
