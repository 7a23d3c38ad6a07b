#include "coordinator/train_loop.h"

#include "common/kernels/fast_paths.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "common/util/stop_signal.h"
#include "common/util/threads.h"
#include "coordinator/banner.h"
#include "coordinator/config_agreement.h"
#include "coordinator/coordinator.h"
#include "coordinator/run_dir.h"
#include "coordinator/tick_system.h"
#include "coordinator/train_finish.h"
#include "worker/worker.h"

namespace lockstep {
namespace {

// 1. plan (rank 0) and 2. send: the frame every rank plays next.
Frame exchange_frame(Comm& comm, const Frame* planned, uint64_t tick) {
  std::string bytes;
  if (planned) LS_CHECK(planned->SerializeToString(&bytes), "serializing frame " << tick);
  comm.broadcast(&bytes, 0);
  Frame frame;
  LS_CHECK(frame.ParseFromString(bytes), "parsing frame of tick " << tick);
  return frame;
}

// 4. collect: every rank's report at rank 0, summed into the tick's summary (nullptr on the other ranks).
std::unique_ptr<TickSummary> collect(Run& run, const Frame& frame, const Report& report) {
  std::string bytes;
  LS_CHECK(report.SerializeToString(&bytes), "serializing report of tick " << frame.tick());
  const std::vector<std::string> gathered = run.comm.gather(bytes, 0);
  if (!run.root) return nullptr;
  std::vector<Report> reports(gathered.size());
  for (size_t r = 0; r < gathered.size(); ++r) LS_CHECK(reports[r].ParseFromString(gathered[r]), "parsing report of rank " << r);
  return std::make_unique<TickSummary>(run.coordinator.collect(frame, reports));
}

}  // namespace

TrainResult run_training(const LoadedConfig& loaded, const std::string& out_dir, Comm& comm, const ResumePoint* resume) {
  const Config& cfg = loaded.config;
  const bool root = comm.rank() == 0;
  const uint64_t start_tick = resume ? resume->state.tick : 0;
  TrainResult result;

  // 1. set-up: threads, fast paths, rank 0's run directory name; the first frame carries rank 0's config hash, and
  // the ranks agree on the config before anything is built or written
  const ThreadSetting threads = configure_threads(cfg.engine().threads(), comm.local_size());
  set_cpu_fast_paths(cfg.engine().cpu_fast_paths());
  comm.set_timeout(cfg.engine().collective_timeout_s());
  result.run_dir = out_dir.empty() ? "runs/" + cfg.name() + "-" + timestamp_now() : out_dir;
  comm.broadcast(&result.run_dir, 0);  // rank 0's clock names the directory
  const std::string config_text = effective_config_text(cfg);
  std::unique_ptr<Frame> planned;
  if (root) {  // the first frame: rank 0's config hash
    planned = std::make_unique<Frame>();
    planned->set_tick(start_tick);
    planned->set_config_hash(config_hash(config_text));
  }
  check_config_agreement(comm, exchange_frame(comm, planned.get(), start_tick), config_text);
  ResumeInfo resumed;
  if (resume) resumed = ResumeInfo{resume->path, resume->state.run_id, start_tick};
  check_run_dir(comm, result.run_dir, resume ? &resumed : nullptr);
  Coordinator coordinator(cfg, comm.size());
  const std::string hosts = describe_hosts(comm);
  if (root) print_run_banner(loaded, result.run_dir, config_text, comm, hosts, threads.description, resume);

  // 2. build: the worker (data, path, model, flat parameters, Adam) and the systems of the tick loop; then, every
  // check passed, the run directory is written
  Worker worker(cfg, comm, /*init_weights=*/resume == nullptr);
  if (resume) worker.restore(resume->state, resume->path);
  coordinator.set_state_tensor_names(worker.state_tensor_names());
  if (resume) coordinator.set_skipped_total(resume->state.skipped_ticks);
  if (resume) coordinator.set_overflow_total(resume->state.overflow_ticks);
  Run run{cfg, comm, worker, coordinator, result.run_dir, config_text, run_identity(comm, result.run_dir, resume ? &resumed : nullptr), root};
  run.start_tick = start_tick;
  run.skipped_before = resume ? resume->state.skipped_ticks : 0;
  const std::vector<std::unique_ptr<TickSystem>> systems = make_tick_systems(run);
  prepare_run_dir(comm, result.run_dir, config_text, run.run_id, resume ? &resumed : nullptr);
  install_stop_signal_handlers();
  if (root) print_model_banner(cfg, worker);
  if (root) run.progress = std::make_unique<Progress>(result.run_dir + "/metrics.jsonl", cfg.train().steps(), start_tick);

  // 3. the tick loop: plan and send, play, collect, then the systems in order (tick_system.h)
  for (uint64_t tick = start_tick;; ++tick) {
    if (root) planned = run.stop_next ? std::move(run.stop_next) : std::make_unique<Frame>(coordinator.plan(tick));
    const Frame frame = exchange_frame(comm, planned.get(), tick);
    if (frame.stop()) {
      if (!frame.error().empty()) throw TrainingStopped(frame.error());
      result.preempted = frame.preempted_by() != 0;
      break;
    }
    const Report report = worker.play(frame);
    const std::unique_ptr<TickSummary> summary = collect(run, frame, report);
    const Tick t{frame, summary.get(), tick + 1 == cfg.train().steps()};
    for (const std::unique_ptr<TickSystem>& system : systems) {
      if (system->due(t)) system->run(t);
    }
  }
  result.checkpoint = run.last_checkpoint;

  // 4. finish: unless preempted (every rank got the stop frame; the checkpoint is written), samples and metrics
  if (result.preempted) {
    if (root) run.progress->finish();
    return result;
  }
  finish_training(run, &result);
  return result;
}

}  // namespace lockstep
