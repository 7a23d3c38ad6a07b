// The logging systems of the tick loop (tick_system.h): progress and metrics.jsonl, and the Chrome trace. Rank 0.
#include "coordinator/tick_system.h"
#include "coordinator/trace.h"

namespace lockstep {
namespace {

class ProgressSystem : public TickSystem {
 public:
  explicit ProgressSystem(Run& run) : run_(run) {}
  bool due(const Tick& t) const override { return t.summary != nullptr; }
  void run(const Tick& t) override { run_.progress->tick(t.frame, *t.summary); }

 private:
  Run& run_;
};

class TraceSystem : public TickSystem {
 public:
  explicit TraceSystem(Run& run) : run_(run) {}
  bool due(const Tick& t) const override {
    const EngineConfig& e = run_.cfg.engine();
    return t.summary != nullptr && t.frame.tick() >= e.trace_begin() && t.frame.tick() < e.trace_end();
  }
  void run(const Tick& t) override {
    trace_.add(t.frame.tick(), t.summary->timings);
    if (t.frame.tick() + 1 == run_.cfg.engine().trace_end() || t.last) trace_.write(run_.run_dir + "/trace.json");
  }

 private:
  Run& run_;
  Trace trace_;
};

}  // namespace

std::unique_ptr<TickSystem> make_progress_system(Run& run) { return std::make_unique<ProgressSystem>(run); }
std::unique_ptr<TickSystem> make_trace_system(Run& run) { return std::make_unique<TraceSystem>(run); }

}  // namespace lockstep
