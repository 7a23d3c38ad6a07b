// The coordinator (rank 0): the authoritative server of the tick loop (docs/design.md, "The tick loop").
//
// One tick, in order (coordinator/train_loop.cpp):
//   1. plan     rank 0 builds the Frame: tick, global batch B, one slice per rank (engine.balance: equal,
//               manual weights, or AUTO: following each rank's measured speed, coordinator/auto_balance.h),
//               learning rate (linear warm-up, then cosine decay), and the flags: log, evaluate, sample_eval,
//               check_hash, checkpoint
//   2. send     the Frame is broadcast to every rank (protobuf bytes over Comm)
//   3. play     every rank, rank 0 included, plays it (worker/worker.h) and answers with a Report
//   4. collect  the Reports are gathered at rank 0 into a TickSummary: mean loss over the global batch, per-rank
//               phase times, held-out loss; on check ticks every rank's state hashes are compared with rank 0's
//   5. systems  "once in a while" work, each system deciding from the frame whether it is due (tick_system.h)
// The frame of tick == train.steps is the stop frame (play nothing). When a check found diverged replicas,
// desync_tensor() names the first differing state tensor, and the desync probe (desync_probe.cpp) stops the run.
// plan() and collect() run on rank 0 only; they hold no tensors.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/proto/config.pb.h"
#include "common/proto/engine.pb.h"
#include "coordinator/auto_balance.h"

namespace lockstep {

// A rank's compute in a tick: data + forward + backward, the part that grows with its slice (AUTO balance and
// the imbalance report measure this)
inline double compute_s(const Timings& t) { return t.data() + t.forward() + t.backward(); }

struct TickSummary {
  uint64_t tick = 0;       // the tick played (0-based)
  double loss = 0.0;       // mean per-sample loss over the global batch
  uint64_t samples = 0;    // samples played, all ranks
  double grad_norm = 0.0;
  double lr = 0.0;
  double slowest_s = 0.0;  // the slowest rank's total time
  std::vector<Timings> timings;  // per rank
  bool has_eval = false;
  double eval_loss = 0.0;  // mean held-out loss
  bool skipped = false;    // non-finite gradients: no rank updated its weights
  std::vector<int> nonfinite_ranks;  // ranks whose loss was NaN or Inf
  int signal = 0;          // a stop signal some rank received (the first rank's that has one)
  uint64_t skipped_total = 0;  // skipped ticks of the run so far
  // train.precision fp16_mixed: float16 overflowed (the skip is the loss scale's, not a divergence), the scale for
  // the next tick (0 without fp16_mixed), and the overflowing ticks of the run so far (a part of skipped_total)
  bool overflow = false;
  double loss_scale = 0.0;
  uint64_t overflow_total = 0;
};

class Coordinator {
 public:
  Coordinator(const Config& cfg, int world_size);
  Frame plan(uint64_t tick);
  TickSummary collect(const Frame& frame, const std::vector<Report>& reports);
  double lr_at(uint64_t tick) const;
  // The split of the global batch for the current weights (exposed for tests).
  std::vector<uint64_t> slice_bounds(uint64_t global_batch) const;
  // After collect() found diverged replicas: the first differing state tensor ("" while the replicas agree).
  const std::string& desync_tensor() const { return desync_tensor_; }
  // Compares rank 0's copy of the probed tensor with the others' and builds the error message.
  std::string desync_message(const std::vector<std::string>& tensors) const;
  void set_state_tensor_names(std::vector<std::string> names) { state_names_ = std::move(names); }
  // Resume: ticks skipped before the checkpoint.
  void set_skipped_total(uint64_t n) { skipped_total_ = n; }
  void set_overflow_total(uint64_t n) { overflow_total_ = n; }
  uint64_t skipped_total() const { return skipped_total_; }

 private:
  Config cfg_;
  int world_size_;
  std::vector<double> weights_;       // slice weights, one per rank
  std::unique_ptr<AutoBalance> auto_balance_;  // engine.balance AUTO on several ranks
  std::vector<std::string> state_names_;
  std::string desync_tensor_;
  uint64_t desync_tick_ = 0;
  uint64_t skipped_total_ = 0;
  uint64_t overflow_total_ = 0;
  std::vector<int> desync_ranks_;
};

}  // namespace lockstep
