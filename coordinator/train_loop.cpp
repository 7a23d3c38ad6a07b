#include "coordinator/train_loop.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/checkpoint/checkpoint.h"
#include "common/io/npy.h"
#include "common/model/net.h"
#include "common/util/blas_info.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "common/util/threads.h"
#include "coordinator/coordinator.h"
#include "coordinator/progress.h"
#include "coordinator/sample_run.h"
#include "coordinator/trace.h"
#include "worker/worker.h"

namespace lockstep {
namespace {

std::string frame_bytes(const Frame& f) {
  std::string b;
  LS_CHECK(f.SerializeToString(&b), "serializing frame " << f.tick());
  return b;
}

}  // namespace

TrainResult run_training(const LoadedConfig& loaded, const std::string& out_dir, Comm& comm) {
  const Config& cfg = loaded.config;
  const bool root = comm.rank() == 0;
  TrainResult result;

  // 1. set-up ------------------------------------------------------------------------------------------------
  const ThreadSetting threads = configure_threads(cfg.engine().threads(), comm.local_size());
  result.run_dir = out_dir.empty() ? "runs/" + cfg.name() + "-" + timestamp_now() : out_dir;
  std::string run_dir = result.run_dir;
  comm.broadcast(&run_dir, 0);  // rank 0's clock names the directory
  result.run_dir = run_dir;
  const std::string config_text = effective_config_text(cfg);
  std::string setup_error;  // rank 0 prepares the run directory; every rank learns whether that worked
  if (root) {
    try {
      LS_CHECK_INPUT(!is_file(run_dir + "/metrics.jsonl"),
                     run_dir << ": already holds a run (metrics.jsonl); choose another --out, nothing was overwritten");
      make_dirs(run_dir);
      write_file_atomic(run_dir + "/config.textproto", config_text);
    } catch (const BadInput& e) {
      setup_error = e.what();
    }
  }
  comm.broadcast(&setup_error, 0);
  if (!setup_error.empty()) throw BadInput(setup_error);
  if (root) {
    const BlasInfo blas = loaded_blas();
    std::fprintf(stderr, "lockstep %s: training '%s' from %s\n", LOCKSTEP_VERSION, cfg.name().c_str(), loaded.source.c_str());
    std::fprintf(stderr, "  run directory : %s\n", run_dir.c_str());
    std::fprintf(stderr, "  world         : %d rank%s (%s), %s\n", comm.size(), comm.size() == 1 ? "" : "s",
                 comm.backend().c_str(), threads.description.c_str());
    std::fprintf(stderr, "  BLAS          : %s%s\n", blas.library.empty() ? "none found" : blas.library.c_str(),
                 blas.config.empty() ? "" : (" (" + blas.config + ")").c_str());
    if (blas.reference) {
      std::fprintf(stderr, "  warning: the reference BLAS is loaded; matrix products are ~15x slower than with OpenBLAS "
                           "(apt-get install libopenblas0-pthread)\n");
    }
    std::fprintf(stderr, "--- effective config ---\n%s------------------------\n", config_text.c_str());
  }

  // 2. build -------------------------------------------------------------------------------------------------
  comm.set_timeout(cfg.engine().collective_timeout_s());
  Worker worker(cfg, comm);
  Coordinator coordinator(cfg, comm.size());
  coordinator.set_state_tensor_names(worker.state_tensor_names());
  if (root) {
    std::fprintf(stderr, "  model         : %s, %lld parameters in %zu gradient bucket%s; data: %s (dim %lld); path: %s\n",
                 cfg.model().name().c_str(), static_cast<long long>(parameter_count(worker.net())),
                 worker.reducer().bucket_count(), worker.reducer().bucket_count() == 1 ? "" : "s",
                 worker.data().name().c_str(), static_cast<long long>(worker.data().dim()), worker.schedule().name().c_str());
  }
  std::unique_ptr<Progress> progress;
  if (root) progress = std::make_unique<Progress>(run_dir + "/metrics.jsonl", cfg.train().steps());
  Trace trace;

  // 3. tick loop ---------------------------------------------------------------------------------------------
  for (uint64_t tick = 0;; ++tick) {
    // plan and send
    Frame frame;
    std::string bytes = root ? frame_bytes(coordinator.plan(tick)) : std::string();
    comm.broadcast(&bytes, 0);
    LS_CHECK(frame.ParseFromString(bytes), "parsing frame of tick " << tick);
    if (frame.stop()) break;
    if (!frame.desync_probe().empty()) {  // replicas diverged: find the first differing element, then stop
      const torch::Tensor mine = worker.state_tensor(frame.desync_probe());
      const std::vector<std::string> all = comm.gather(
          std::string(static_cast<const char*>(mine.data_ptr()), static_cast<size_t>(mine.numel()) * sizeof(float)), 0);
      std::string message = "replicas diverged after tick " + std::to_string(frame.desync_tick()) + "; rank 0 has the details";
      if (root) {
        message = coordinator.desync_message(all);
        std::fprintf(stderr, "\nlockstep: error: %s\n", message.c_str());
        std::fflush(stderr);
      }
      comm.barrier();  // rank 0 has spoken before anyone stops
      throw DistributedError(message, true);
    }

    // play
    const Report report = worker.play(frame);

    // collect, then the systems: log, trace, checkpoint
    std::string report_bytes;
    LS_CHECK(report.SerializeToString(&report_bytes), "serializing report of tick " << tick);
    const std::vector<std::string> gathered = comm.gather(report_bytes, 0);
    if (root) {
      std::vector<Report> reports(gathered.size());
      for (size_t r = 0; r < gathered.size(); ++r) LS_CHECK(reports[r].ParseFromString(gathered[r]), "parsing report of rank " << r);
      const TickSummary summary = coordinator.collect(frame, reports);
      progress->tick(frame, summary);
      if (tick >= cfg.engine().trace_begin() && tick < cfg.engine().trace_end()) {
        trace.add(tick, summary.timings);
        if (tick + 1 == cfg.engine().trace_end() || tick + 1 == cfg.train().steps()) trace.write(run_dir + "/trace.json");
      }
    }
    if (frame.checkpoint() && root) {
      CheckpointData state = worker.state();
      state.config_text = config_text;
      state.tick = tick + 1;
      state.world_size = comm.size();
      result.checkpoint = checkpoint_path(run_dir, tick + 1);
      save_checkpoint(result.checkpoint, state);
    }
  }
  if (root) {
    progress->finish();
    result.train_seconds = progress->elapsed_s();
    std::fprintf(stderr, "trained %llu ticks in %.1f s; checkpoint %s\n", static_cast<unsigned long long>(cfg.train().steps()),
                 result.train_seconds, result.checkpoint.c_str());
  }
  comm.barrier();

  // 4. finish: samples, data, picture, energy distance --------------------------------------------------------
  if (root) {
    const auto t0 = std::chrono::steady_clock::now();
    const SampleSpec spec = sample_spec(cfg, worker.data());
    double nfe = 0;
    const torch::Tensor samples = generate_samples(worker.net(), worker.schedule(), spec, cfg.sample().num(), cfg.sample().chunk(), &nfe);
    const torch::Tensor data = fresh_data(worker.data(), cfg.sample().num(), cfg.sample().seed());
    write_npy(run_dir + "/samples.npy", samples.data_ptr<float>(), npy_shape(samples.size(0), worker.data()));
    write_npy(run_dir + "/data.npy", data.data_ptr<float>(), npy_shape(data.size(0), worker.data()));
    const bool pictured = plot_samples(run_dir + "/samples.png", samples, &data, worker.data(), spec);
    const SampleQuality q = sample_quality(samples, data, cfg.sample().seed());
    result.energy_distance = q.energy_distance;
    result.gaussian_energy_distance = q.gaussian_energy_distance;
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    JsonObject o;
    o.set("tick", cfg.train().steps()).set("energy_distance", q.energy_distance)
        .set("gaussian_energy_distance", q.gaussian_energy_distance).set("num_samples", cfg.sample().num())
        .set("nfe", nfe).set("sample_seconds", secs);
    JsonlWriter(run_dir + "/metrics.jsonl").write(o);
    std::fprintf(stderr, "sampled %llu points (%s, %.0f NFE) in %.1f s\n", static_cast<unsigned long long>(cfg.sample().num()),
                 spec.sampler.c_str(), nfe, secs);
    std::printf("metrics: energy_distance=%.5f gaussian_baseline=%.5f ratio=%.3f\n", q.energy_distance,
                q.gaussian_energy_distance, q.energy_distance / q.gaussian_energy_distance);
    if (pictured) std::printf("picture: %s/samples.png\n", run_dir.c_str());
    std::fflush(stdout);
  }
  return result;
}

}  // namespace lockstep
