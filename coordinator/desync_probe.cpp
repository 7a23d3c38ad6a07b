// The desync probe of the tick loop (tick_system.h): on check_hash ticks rank 0 has compared every rank's state
// hashes with its own (Coordinator::collect); when replicas diverged, every rank sends the first differing tensor,
// rank 0 names the first differing element, and the run stops with DistributedError (exit code 3). Collective.
#include <cstdio>

#include "common/util/error.h"
#include "coordinator/tick_system.h"

namespace lockstep {
namespace {

class DesyncProbe : public TickSystem {
 public:
  explicit DesyncProbe(Run& run) : run_(run) {}
  bool due(const Tick& t) const override { return t.frame.check_hash() && run_.comm.size() > 1; }
  void run(const Tick& t) override {
    std::string tensor = run_.root ? run_.coordinator.desync_tensor() : std::string();
    run_.comm.broadcast(&tensor, 0);
    if (tensor.empty()) return;
    const torch::Tensor mine = run_.worker.state_tensor(tensor);
    const std::vector<std::string> all =
        run_.comm.gather(std::string(static_cast<const char*>(mine.data_ptr()), static_cast<size_t>(mine.numel()) * sizeof(float)), 0);
    std::string message = "replicas diverged after tick " + std::to_string(t.frame.tick()) + "; rank 0 has the details";
    if (run_.root) {
      message = run_.coordinator.desync_message(all);
      std::fprintf(stderr, "\nlockstep: error: %s\n", message.c_str());
      std::fflush(stderr);
    }
    run_.comm.barrier();  // rank 0 has spoken before anyone stops
    throw DistributedError(message, true);
  }

 private:
  Run& run_;
};

}  // namespace

std::unique_ptr<TickSystem> make_desync_probe(Run& run) { return std::make_unique<DesyncProbe>(run); }

}  // namespace lockstep
