// The logging system of the tick loop (rank 0): a live progress line and metrics.jsonl.
//
// Contract: tick() is called after every collected tick; it accumulates the window since the last log. On a
// terminal (stderr is a TTY) one line is redrawn at most 5 times a second: tick/total, loss, samples/s, ETA.
// Otherwise a plain line is printed on every logged tick. On every logged tick one JSON object is appended to
// metrics.jsonl: tick (ticks completed), loss (mean over the window), samples_per_s, elapsed_s, lr, grad_norm,
// eval_loss (when the held-out loss was evaluated on this tick), and every rank's phase times of the tick as
// arrays indexed by rank (time_data_s, time_forward_s, time_backward_s, time_comm_s, time_optimizer_s,
// time_total_s; with data.prefetch time_data_s is the wait for the slice and time_data_ahead_s the time a background
// thread spent drawing it during the tick before), and peak_rss_mib, every rank's peak resident set so far (MiB), with peak_device_mib, the CUDA
// allocator's peak, on GPUs; buckets_overlapped, every rank's gradient buckets whose all-reduce started inside backward. time_comm_s is the wait for the
// gradient all-reduce after backward (what overlap did not hide).
// A held-out evaluation on a tick that is not logged gets a line of its own (tick and eval_loss). Skipped
// ticks (non-finite values) stay out of the loss mean; skipped_ticks (the run's total) is added once there is one.
// imbalance_share(): over the ticks so far, how much longer the slowest rank computed (data + forward + backward)
// than the ranks' mean, as a share of the tick: the time that better balance could give back (0 on one rank).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/io/jsonl.h"
#include "coordinator/coordinator.h"

namespace lockstep {

class Progress {
 public:
  // start_tick: ticks already done (a resumed run); rates and ETA count from there.
  Progress(const std::string& metrics_path, uint64_t total_ticks, uint64_t start_tick = 0);
  void tick(const Frame& frame, const TickSummary& s);
  void finish();
  double elapsed_s() const;
  double imbalance_share() const { return tick_s_ > 0 ? imbalance_s_ / tick_s_ : 0.0; }
  // every rank's peak resident set (MiB) as of the last tick
  const std::vector<double>& peak_rss_mib() const { return peak_rss_mib_; }
  // On GPUs: every rank's CUDA allocator peak (empty on the CPU)
  const std::vector<double>& peak_device_mib() const { return peak_device_mib_; }

 private:
  using Clock = std::chrono::steady_clock;
  JsonlWriter metrics_;
  uint64_t total_, start_tick_;
  bool tty_;
  Clock::time_point start_, window_start_, last_draw_;
  double window_loss_ = 0.0;
  uint64_t window_ticks_ = 0, window_samples_ = 0;
  double last_rate_ = 0.0;
  bool drawn_ = false;
  double imbalance_s_ = 0.0, tick_s_ = 0.0;  // sums over ticks: slowest rank's compute - mean, slowest rank's total
  std::vector<double> peak_rss_mib_, peak_device_mib_;
};

}  // namespace lockstep
