// AUTO balance (engine.balance AUTO): the split of the global batch follows each rank's measured speed, so that a
// rank on a slower or busier core gets fewer samples and nobody waits for it. The result does not depend on the
// split up to float rounding (docs/design.md, "The determinism contract"); its bits do, so EQUAL stays the default.
//
// Contract: observe(rank, samples, seconds) feeds one tick's compute (data + forward + backward) of one rank into
// a smoothed rate per rank (samples per second). A rank's first tick is ignored (one-time costs), the next four
// settle the estimate quickly (each weighs 1/2), then it is an exponential average over about ten ticks in which a
// tick more than 1.25x off the estimate counts as 1.25x off, so one preempted tick does not move the split.
// update() then recomputes the split: proportional to the rates (at least 5% of the mean rate each), every cut on a
// multiple of the granule (8 samples when the batch has at least 32 per rank, else 1), every rank with at least one
// granule, and adopted only when it is predicted to shorten the slowest rank's time (slice / rate) by at least
// 0.5%: noise does not move samples back and forth, and slice sizes stay friendly to the matrix kernels. bounds()
// is the current split, equal until every rank with samples has been measured: world_size + 1 cuts from 0 to B.
// No MPI, no torch.
#pragma once

#include <cstdint>
#include <vector>

namespace lockstep {

class AutoBalance {
 public:
  AutoBalance(uint64_t global_batch, int world_size);
  void observe(int rank, uint64_t samples, double seconds);
  void update();
  const std::vector<uint64_t>& bounds() const { return bounds_; }
  uint64_t granule() const { return granule_; }

 private:
  double predicted_s(const std::vector<uint64_t>& bounds) const;  // the slowest rank's predicted compute time
  uint64_t batch_;
  int world_;
  uint64_t granule_;
  std::vector<double> rate_;  // samples per second, 0 until measured
  std::vector<int> seen_;     // ticks observed, per rank
  std::vector<uint64_t> bounds_;
};

}  // namespace lockstep
