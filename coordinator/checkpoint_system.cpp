// The checkpoint system of the tick loop (tick_system.h), rank 0: after checkpoint ticks (train.checkpoint_every,
// the last tick) and after a tick in which a stop signal arrived, the run's state goes to
// <run>/checkpoints/tick-NNNNNNNN.ckpt (common/checkpoint/checkpoint.h), then retention prunes the older ones.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "common/checkpoint/checkpoint.h"
#include "common/util/fault.h"
#include "common/util/fs.h"
#include "coordinator/tick_system.h"

namespace lockstep {
namespace {

// LOCKSTEP_FAULT ckpt_kill: a crash half-way through a checkpoint write (the temporary file is left behind).
[[noreturn]] void crash_during_write(const std::string& path, const std::string& bytes) {
  make_dirs(std::filesystem::path(path).parent_path().string());
  std::string tmp;
  const int fd = create_temp_beside(path, &tmp);
  if (::write(fd, bytes.data(), bytes.size() / 2) < 0) std::abort();
  ::kill(::getpid(), SIGKILL);
  std::abort();
}

class CheckpointSystem : public TickSystem {
 public:
  explicit CheckpointSystem(Run& run) : run_(run) {}
  bool due(const Tick& t) const override {
    return t.summary != nullptr && !run_.stop_next && (t.frame.checkpoint() || (t.summary->signal != 0 && !t.last));
  }
  void run(const Tick& t) override {
    const Config& cfg = run_.cfg;
    const uint64_t done = t.frame.tick() + 1;
    CheckpointData state = run_.worker.state();
    state.config_text = run_.config_text;
    state.run_id = run_.run_id;
    state.tick = done;
    state.world_size = static_cast<uint32_t>(run_.comm.size());
    state.seed = cfg.seed();
    state.skipped_ticks = t.summary->skipped_total;
    state.overflow_ticks = t.summary->overflow_total;
    const uint64_t items = run_.worker.data().size();
    if (items > 0) {  // the position in the epoch permutation
      const uint64_t consumed = done * cfg.train().batch_size();
      state.data_epoch = consumed / items;
      state.data_position = consumed % items;
    }
    run_.last_checkpoint = checkpoint_path(run_.run_dir, done);
    if (run_.worker.faults().at(FaultPhase::kCheckpoint, t.frame.tick())) crash_during_write(run_.last_checkpoint, checkpoint_bytes(state));
    save_checkpoint(run_.last_checkpoint, state);
    prune_checkpoints(run_.run_dir, run_.run_id, cfg.train().keep_last(), cfg.train().keep_every());
  }

 private:
  Run& run_;
};

}  // namespace

std::unique_ptr<TickSystem> make_checkpoint_system(Run& run) { return std::make_unique<CheckpointSystem>(run); }

}  // namespace lockstep
