// The coordinator (rank 0): the authoritative server of the tick loop (DESIGN.md section 1).
//
// One tick, in order:
//   1. plan     rank 0 builds the Frame: tick, global batch B, one slice per rank (equal split), learning
//               rate (linear warm-up, then cosine decay to optim.final_lr_fraction), log/checkpoint/stop flags
//   2. send     the Frame is broadcast to every rank (protobuf bytes over Comm)
//   3. play     every rank, rank 0 included, plays it (worker/worker.h) and answers with a Report
//   4. collect  the Reports are gathered at rank 0 and summed into a TickSummary: mean loss over the global
//               batch, samples, slowest rank's time
//   5. systems  "once in a while" work keyed on the frame's flags: log, checkpoint
// plan() and collect() run on rank 0 only; they hold no tensors.
#pragma once

#include <cstdint>
#include <vector>

#include "common/proto/config.pb.h"
#include "common/proto/engine.pb.h"

namespace lockstep {

struct TickSummary {
  uint64_t tick = 0;       // the tick played (0-based)
  double loss = 0.0;       // mean per-sample loss over the global batch
  uint64_t samples = 0;    // samples played, all ranks
  double grad_norm = 0.0;
  double lr = 0.0;
  double slowest_s = 0.0;  // the slowest rank's total time
  Timings slowest;         // that rank's phase times
};

class Coordinator {
 public:
  Coordinator(const Config& cfg, int world_size);
  Frame plan(uint64_t tick) const;
  TickSummary collect(const Frame& frame, const std::vector<Report>& reports) const;
  // Learning rate of a tick.
  double lr_at(uint64_t tick) const;

 private:
  Config cfg_;
  int world_size_;
};

}  // namespace lockstep
