// The stopping systems of the tick loop (tick_system.h), rank 0: non-finite ticks (train.nonfinite) and stop
// signals (preemption). A stop is a frame rank 0 sends instead of the next plan; every rank then leaves the loop.
#include <signal.h>

#include <cstdio>

#include "common/optim/loss_scaler.h"
#include "coordinator/tick_system.h"

namespace lockstep {
namespace {

// Asks the loop to send a stop frame next instead of the next plan.
Frame& request_stop(Run& run) {
  run.stop_next = std::make_unique<Frame>();
  run.stop_next->set_stop(true);
  return *run.stop_next;
}

// A skipped tick (the reduced gradient was not finite: no rank updated its weights) is counted and warned about;
// with train.nonfinite STOP the run ends with exit code 4, before anything of the tick is saved. Under fp16_mixed a
// skip for float16's overflow is the loss scale's business (counted in metrics.jsonl, no warning), unless the scale
// has fallen below 2^-24: then no scale makes the gradients finite, and the run stops with exit code 4.
class NonfiniteGuard : public TickSystem {
 public:
  explicit NonfiniteGuard(Run& run) : run_(run) {}
  bool due(const Tick& t) const override { return t.summary != nullptr && t.summary->skipped; }
  void run(const Tick& t) override {
    const TickSummary& s = *t.summary;
    if (s.overflow) {
      if (!loss_scale_exhausted(s.loss_scale)) return;
      char scale[32];
      std::snprintf(scale, sizeof scale, "%g", s.loss_scale);
      request_stop(run_).set_error("tick " + std::to_string(s.tick) + ": the gradients are not finite at any loss scale (train.precision "
                                   "fp16_mixed: the scale fell to " + std::string(scale) + ", below 2^-24, after " +
                                   std::to_string(s.overflow_total) + " overflowing ticks); stopped. The weights are those before the tick; the last checkpoint is " +
                                   (run_.last_checkpoint.empty() ? std::string("none") : run_.last_checkpoint));
      return;
    }
    std::string ranks;
    for (int r : s.nonfinite_ranks) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
    const std::string what = "tick " + std::to_string(s.tick) + ": non-finite gradients" +
                             (ranks.empty() ? std::string()
                                            : " (the loss of rank" + std::string(s.nonfinite_ranks.size() > 1 ? "s " : " ") + ranks +
                                                  " is NaN or Inf)");
    if (run_.cfg.train().nonfinite() == TrainConfig::STOP) {
      request_stop(run_).set_error(what + "; stopped (train.nonfinite: STOP). The weights are those before the tick; the last checkpoint is " +
                                (run_.last_checkpoint.empty() ? std::string("none") : run_.last_checkpoint));
      return;
    }
    std::fprintf(stderr, "\nlockstep: warning: %s; the tick is skipped (%llu so far)\n", what.c_str(),
                 static_cast<unsigned long long>(s.skipped_total));
  }

 private:
  Run& run_;
};

// SIGTERM or SIGUSR1 reached a rank during the tick (its report says so): the checkpoint system has written the
// tick's checkpoint; every rank stops and exits with code 75. On the last tick the run simply ends.
class Preemption : public TickSystem {
 public:
  explicit Preemption(Run& run) : run_(run) {}
  bool due(const Tick& t) const override { return t.summary != nullptr && t.summary->signal != 0 && !t.last && !run_.stop_next; }
  void run(const Tick& t) override {
    const int signal = t.summary->signal;
    request_stop(run_).set_preempted_by(static_cast<uint32_t>(signal));
    std::fprintf(stderr, "\nlockstep: %s received: stopped after tick %llu; checkpoint %s\n  continue with: lockstep train --resume %s\n",
                 signal == SIGTERM ? "SIGTERM" : "SIGUSR1", static_cast<unsigned long long>(t.frame.tick() + 1), run_.last_checkpoint.c_str(),
                 run_.run_dir.c_str());
  }

 private:
  Run& run_;
};

}  // namespace

std::unique_ptr<TickSystem> make_nonfinite_guard(Run& run) { return std::make_unique<NonfiniteGuard>(run); }
std::unique_ptr<TickSystem> make_preemption_system(Run& run) { return std::make_unique<Preemption>(run); }

}  // namespace lockstep
