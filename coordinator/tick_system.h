// The systems of the tick loop: "once in a while" work after each tick, each deciding from the frame (and on rank 0
// from the collected summary) whether it is due (docs/design.md, "The tick loop").
//
// Contract: every rank runs the same list of systems in the same order after every played tick (train_loop.cpp).
// due() of a collective system depends on the frame alone, so that every rank decides alike and enters its
// collectives together; a rank-0 system is due only where the summary exists (rank 0). run() may ask for a stop
// (rank 0: Run::stop_next), which the loop sends instead of the next plan. The order of the list is the contract:
//   1. sample eval    collective, on sample_eval ticks: samples against fresh data (sample_eval_system.cpp); first,
//                     so that its line precedes the tick's log line in metrics.jsonl and its time counts in that
//                     tick's logging window
//   2. progress       rank 0: the live line and metrics.jsonl (logging.cpp)
//   3. trace          rank 0: the Chrome trace of ticks [engine.trace_begin, trace_end) (logging.cpp)
//   4. desync probe   collective, on check_hash ticks: replicas that diverged stop the run, exit 3 (desync_probe.cpp)
//   5. non-finite     rank 0: a skipped tick is counted and warned about, or stops the run (train.nonfinite STOP, exit
//                     4) before anything is saved (stop_systems.cpp)
//   6. checkpoint     rank 0: on checkpoint ticks and when a stop signal arrived (checkpoint_system.cpp)
//   7. preemption     rank 0: after a stop signal, the checkpoint is written and every rank stops, exit 75
//                     (stop_systems.cpp)
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/comm/comm.h"
#include "common/proto/config.pb.h"
#include "common/proto/engine.pb.h"
#include "coordinator/coordinator.h"
#include "coordinator/progress.h"
#include "evaluation/sample_run.h"
#include "worker/worker.h"

namespace lockstep {

// What the systems of one training run share.
struct Run {
  const Config& cfg;
  Comm& comm;
  Worker& worker;
  Coordinator& coordinator;  // rank 0's is the one that plans
  std::string run_dir;
  std::string config_text;   // the effective config, stored in every checkpoint
  std::string run_id;        // the run's identity, stored in every checkpoint (run_dir.h)
  bool root = false;
  uint64_t start_tick = 0;             // where this session began (a resumed run: the checkpoint's tick)
  uint64_t skipped_before = 0;         // ticks skipped before this session
  std::unique_ptr<Progress> progress;  // rank 0
  std::string last_checkpoint;         // rank 0: the newest checkpoint written ("" before the first)
  std::unique_ptr<Frame> stop_next;    // rank 0: a stop frame to send instead of the next plan
};

// One played tick, as the systems see it.
struct Tick {
  const Frame& frame;
  const TickSummary* summary;  // rank 0: the collected tick; other ranks: nullptr
  bool last;                   // the run's last tick (train.steps)
};

class TickSystem {
 public:
  virtual ~TickSystem() = default;
  virtual bool due(const Tick& t) const = 0;
  virtual void run(const Tick& t) = 0;
};

// Collective: num samples of the run's model, made by all ranks together (evaluation/sample_run.h), from the EMA
// weights when sample.use_ema (the raw weights are back afterwards); every chunk a rank makes goes to on_chunk.
// With stop_on_signal, a stop signal ends it on every rank with Preempted (sample_run.h).
SampledSet sample_from_run(Run& run, const SampleSpec& spec, uint64_t num,
                           const std::function<void(uint64_t, const torch::Tensor&)>& on_chunk = nullptr, bool stop_on_signal = false);

// The systems in the order above.
std::vector<std::unique_ptr<TickSystem>> make_tick_systems(Run& run);

// The systems themselves (each in its own file).
std::unique_ptr<TickSystem> make_sample_eval_system(Run& run);
std::unique_ptr<TickSystem> make_progress_system(Run& run);
std::unique_ptr<TickSystem> make_trace_system(Run& run);
std::unique_ptr<TickSystem> make_desync_probe(Run& run);
std::unique_ptr<TickSystem> make_nonfinite_guard(Run& run);
std::unique_ptr<TickSystem> make_checkpoint_system(Run& run);
std::unique_ptr<TickSystem> make_preemption_system(Run& run);

}  // namespace lockstep
