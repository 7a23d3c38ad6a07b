#include "coordinator/train_loop.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <fstream>
#include <sstream>
#include <cstdio>
#include <filesystem>

#include "common/checkpoint/checkpoint.h"
#include "common/io/npy.h"
#include "common/model/autocast.h"
#include "common/model/classifier.h"
#include "common/model/net.h"
#include "common/util/blas_info.h"
#include "common/util/error.h"
#include "common/util/fault.h"
#include "common/util/stop_signal.h"
#include "common/util/fs.h"
#include "common/util/threads.h"
#include "coordinator/coordinator.h"
#include "coordinator/image_metrics.h"
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

// Resume: keeps the lines of metrics.jsonl up to `tick` (what the checkpoint has seen), so that the resumed
// run continues the file instead of repeating ticks. Written atomically; a missing file is fine.
void cut_metrics(const std::string& path, uint64_t tick) {
  if (!is_file(path)) return;
  std::istringstream in(read_file(path));
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    const size_t at = line.find("\"tick\": ");
    if (at != std::string::npos && std::stoull(line.substr(at + 8)) > tick) continue;
    kept += line + "\n";
  }
  write_file_atomic(path, kept);
}

// LOCKSTEP_FAULT ckpt_kill: a crash half-way through a checkpoint write (the temporary file is left behind).
[[noreturn]] void crash_during_write(const std::string& path, const std::string& bytes) {
  make_dirs(std::filesystem::path(path).parent_path().string());
  std::ofstream(path + ".tmp-" + std::to_string(::getpid()), std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size() / 2));
  ::kill(::getpid(), SIGKILL);
  std::abort();
}

// The classifier of the periodic sample evaluation and the held-out split's statistics in its features
// (computed by all ranks at the first evaluation).
struct SampleEvalImages {
  LoadedClassifier classifier;
  std::unique_ptr<ImageScorer> reference;
};

// train.sample_eval_every: all ranks sample (EMA weights) and compare with fresh data; rank 0 logs the result.
// With train.sample_eval_classifier each rank also scores its own chunks in the classifier's features.
void evaluate_samples(const Config& cfg, Worker& worker, Comm& comm, uint64_t done, const std::string* run_dir, SampleEvalImages* images) {
  const auto t0 = std::chrono::steady_clock::now();
  const uint64_t num = cfg.train().sample_eval_num();
  const SampleSpec spec = sample_spec(cfg, worker.data(), worker.source());
  SampledSet sampled;
  std::unique_ptr<ImageScorer> scored;
  std::function<void(uint64_t, const torch::Tensor&)> on_chunk;
  if (images) {
    if (!images->reference) {
      std::string what;
      images->reference = score_reference(comm, *images->classifier.net, cfg.data(), cfg.seed(), &what);
    }
    scored = std::make_unique<ImageScorer>(*images->classifier.net);
    on_chunk = [&](uint64_t first, const torch::Tensor& x) { scored->add_samples(spec, first, x); };
  }
  {
    const Worker::EmaSwap ema(worker, cfg.sample().use_ema());
    sampled = sample_distributed(comm, worker.net(), worker.schedule(), spec, num, cfg.sample().chunk(), num, nullptr, false, on_chunk);
  }
  if (scored) scored->reduce(comm);
  const torch::Tensor data = fresh_data(worker.data(), num, cfg.sample().seed() ^ 0xE7A1DA7Aull);
  const PairSums sums = compare_distributed(comm, sampled.first, data);
  if (!run_dir) return;
  std::vector<double> mmd;
  for (size_t k = 0; k < sums.bandwidths.size(); ++k) mmd.push_back(sums.mmd2_u(k));
  JsonObject o;
  o.set("tick", done).set("sample_energy_distance", sums.energy_distance_u()).set("sample_mmd2", mmd)
      .set("sample_mmd_bandwidths", sums.bandwidths).set("sample_nfe", sampled.nfe);
  if (scored) {
    o.set("sample_frechet_distance", frechet_distance(scored->stats, images->reference->stats));
    if (spec.num_classes > 0) o.set("sample_class_accuracy", scored->counts.accuracy());
  }
  o.set("sample_eval_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  JsonlWriter(*run_dir + "/metrics.jsonl").write(o);
}

// Collective: "host (ranks 0-3), other (ranks 4-7)" on rank 0, from every rank's hostname.
std::string describe_hosts(Comm& comm) {
  char name[256] = {0};
  if (::gethostname(name, sizeof name - 1) != 0) std::snprintf(name, sizeof name, "?");
  const std::vector<std::string> all = comm.gather(name, 0);
  std::vector<std::pair<std::string, std::vector<int>>> hosts;
  for (size_t r = 0; r < all.size(); ++r) {
    auto it = std::find_if(hosts.begin(), hosts.end(), [&](const auto& h) { return h.first == all[r]; });
    if (it == hosts.end()) it = hosts.insert(hosts.end(), {all[r], {}});
    it->second.push_back(static_cast<int>(r));
  }
  std::string out;
  for (const auto& [host, ranks] : hosts) {
    std::string list;
    for (size_t i = 0; i < ranks.size();) {
      size_t j = i;
      while (j + 1 < ranks.size() && ranks[j + 1] == ranks[j] + 1) ++j;
      list += (list.empty() ? "" : ", ") + std::to_string(ranks[i]) + (j > i ? "-" + std::to_string(ranks[j]) : "");
      i = j + 1;
    }
    out += (out.empty() ? "" : ", ") + host + (ranks.size() == 1 ? " (rank " : " (ranks ") + list + ")";
  }
  return out;
}

// A classifier's finish: its accuracy on the held-out split (EMA weights when sample.use_ema), all ranks.
void finish_classifier(const Config& cfg, Worker& worker, Comm& comm, const std::string& run_dir, TrainResult* result) {
  const auto t0 = std::chrono::steady_clock::now();
  std::string what;
  std::unique_ptr<ImageScorer> s;
  {
    const Worker::EmaSwap ema(worker, cfg.sample().use_ema());
    s = score_reference(comm, *as_classifier(worker.net()), cfg.data(), cfg.seed(), &what);
  }
  if (comm.rank() != 0) return;
  result->test_accuracy = s->counts.accuracy();
  const double ce = s->mean_cross_entropy();
  JsonObject o;
  o.set("tick", cfg.train().steps()).set("test_accuracy", result->test_accuracy).set("test_cross_entropy", ce).set("test_reference", what)
      .set("test_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  JsonlWriter(run_dir + "/metrics.jsonl").write(o);
  std::printf("metrics: test_accuracy=%.4f test_cross_entropy=%.4f (%s)\n", result->test_accuracy, ce, what.c_str());
  std::fflush(stdout);
}

}  // namespace

TrainResult run_training(const LoadedConfig& loaded, const std::string& out_dir, Comm& comm, const ResumePoint* resume) {
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
  const uint64_t start_tick = resume ? resume->state.tick : 0;
  if (root) {
    try {
      if (resume) {
        cut_metrics(run_dir + "/metrics.jsonl", start_tick);
      } else {
        LS_CHECK_INPUT(!is_file(run_dir + "/metrics.jsonl"),
                       run_dir << ": already holds a run (metrics.jsonl); choose another --out, or continue it with --resume "
                               << run_dir << "; nothing was overwritten");
      }
      make_dirs(run_dir);
      write_file_atomic(run_dir + "/config.textproto", config_text);
    } catch (const BadInput& e) {
      setup_error = e.what();
    }
  }
  comm.broadcast(&setup_error, 0);
  if (!setup_error.empty()) throw BadInput(setup_error);
  const std::string hosts = describe_hosts(comm);
  if (root) {
    const BlasInfo blas = loaded_blas();
    std::fprintf(stderr, "lockstep %s: training '%s' from %s\n", LOCKSTEP_VERSION, cfg.name().c_str(), loaded.source.c_str());
    std::fprintf(stderr, "  run directory : %s\n", run_dir.c_str());
    if (resume) {
      std::fprintf(stderr, "  resuming      : %s at tick %llu (written by lockstep %s on %u rank%s)\n", resume->path.c_str(),
                   static_cast<unsigned long long>(start_tick), resume->state.version.c_str(), resume->state.world_size,
                   resume->state.world_size == 1 ? "" : "s");
    }
    std::fprintf(stderr, "  world         : %d rank%s (%s), %s\n", comm.size(), comm.size() == 1 ? "" : "s",
                 comm.backend().c_str(), threads.description.c_str());
    std::fprintf(stderr, "  hosts         : %s\n", hosts.c_str());
    std::fprintf(stderr, "  all-reduce    : %s\n", comm.allreduce_path().c_str());
    std::fprintf(stderr, "  BLAS          : %s%s\n", blas.library.empty() ? "none found" : blas.library.c_str(),
                 blas.config.empty() ? "" : (" (" + blas.config + ")").c_str());
    if (!blas.core_note.empty()) std::fprintf(stderr, "                  %s\n", blas.core_note.c_str());
    if (cfg.train().precision() == "bf16_mixed") {
      const std::string& setting = cfg.train().bf16_convolutions();
      const bool native = bf16_convs_from_config(setting) == Bf16Convs::kNative;
      std::fprintf(stderr, "  bf16 (CPU)    : convolutions %s (train.bf16_convolutions %s)\n",
                   native ? "in oneDNN's bfloat16 kernels" : "in float32 arithmetic on bfloat16-rounded operands", setting.c_str());
    }
    if (blas.reference) {
      std::fprintf(stderr, "  warning: the reference BLAS is loaded; matrix products are ~15x slower than with OpenBLAS "
                           "(apt-get install libopenblas0-pthread)\n");
    }
    std::fprintf(stderr, "--- effective config ---\n%s------------------------\n", config_text.c_str());
  }

  // 2. build -------------------------------------------------------------------------------------------------
  comm.set_timeout(cfg.engine().collective_timeout_s());
  Worker worker(cfg, comm);
  if (resume) worker.restore(resume->state, resume->path);
  Coordinator coordinator(cfg, comm.size());
  coordinator.set_state_tensor_names(worker.state_tensor_names());
  if (resume) coordinator.set_skipped_total(resume->state.skipped_ticks);
  install_stop_signal_handlers();
  if (root) {
    const size_t buckets = worker.reducer() ? worker.reducer()->bucket_count() : 0;
    const std::string bucket_text = worker.reducer() ? " in " + std::to_string(buckets) + " gradient bucket" + (buckets == 1 ? "" : "s") : "";
    std::fprintf(stderr, "  model         : %s, %lld parameters%s; data: %s (dim %lld); path: %s\n", cfg.model().name().c_str(),
                 static_cast<long long>(parameter_count(worker.net())), bucket_text.c_str(), worker.data().name().c_str(),
                 static_cast<long long>(worker.data().dim()), worker.schedule().name().c_str());
    if (!worker.grad_buffer_note().empty()) {
      std::fprintf(stderr, "  %s: %s\n", worker.sharded() ? "optimizer     " : "gradients     ", worker.grad_buffer_note().c_str());
    }
  }
  std::unique_ptr<SampleEvalImages> sample_eval_images;
  if (!cfg.train().sample_eval_classifier().empty()) {
    sample_eval_images = std::make_unique<SampleEvalImages>();
    sample_eval_images->classifier = load_classifier(cfg.train().sample_eval_classifier(), worker.data().item_shape(),
                                                     worker.data().num_classes(), "train.sample_eval_classifier");
  }
  std::unique_ptr<Progress> progress;
  if (root) progress = std::make_unique<Progress>(run_dir + "/metrics.jsonl", cfg.train().steps(), start_tick);
  Trace trace;

  // 3. tick loop ---------------------------------------------------------------------------------------------
  std::unique_ptr<Frame> stop_next;  // rank 0: a stop frame to send instead of the next plan
  uint64_t skipped_total = resume ? resume->state.skipped_ticks : 0;
  for (uint64_t tick = start_tick;; ++tick) {
    // plan and send
    Frame frame;
    std::string bytes = root ? frame_bytes(stop_next ? *stop_next : coordinator.plan(tick)) : std::string();
    comm.broadcast(&bytes, 0);
    LS_CHECK(frame.ParseFromString(bytes), "parsing frame of tick " << tick);
    if (frame.stop()) {
      if (!frame.error().empty()) throw TrainingStopped(frame.error());
      result.preempted = frame.preempted_by() != 0;
      break;
    }
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
    if (frame.sample_eval()) evaluate_samples(cfg, worker, comm, tick + 1, root ? &run_dir : nullptr, sample_eval_images.get());
    if (!root) continue;
    std::vector<Report> reports(gathered.size());
    for (size_t r = 0; r < gathered.size(); ++r) LS_CHECK(reports[r].ParseFromString(gathered[r]), "parsing report of rank " << r);
    const TickSummary summary = coordinator.collect(frame, reports);
    progress->tick(frame, summary);
    if (tick >= cfg.engine().trace_begin() && tick < cfg.engine().trace_end()) {
      trace.add(tick, summary.timings);
      if (tick + 1 == cfg.engine().trace_end() || tick + 1 == cfg.train().steps()) trace.write(run_dir + "/trace.json");
    }
    const bool last = tick + 1 == cfg.train().steps();
    if (summary.skipped) {  // no rank updated its weights on this tick
      skipped_total = summary.skipped_total;
      std::string ranks;
      for (int r : summary.nonfinite_ranks) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
      const std::string what = "tick " + std::to_string(tick) + ": non-finite gradients" +
                               (ranks.empty() ? std::string() : " (the loss of rank" + std::string(summary.nonfinite_ranks.size() > 1 ? "s " : " ") +
                                                                    ranks + " is NaN or Inf)");
      if (cfg.train().nonfinite() == TrainConfig::STOP) {
        stop_next = std::make_unique<Frame>();
        stop_next->set_stop(true);
        stop_next->set_error(what + "; stopped (train.nonfinite: STOP). The weights are those before the tick; the last "
                                    "checkpoint is " + (result.checkpoint.empty() ? std::string("none") : result.checkpoint));
        continue;
      }
      std::fprintf(stderr, "\nlockstep: warning: %s; the tick is skipped (%llu so far)\n", what.c_str(),
                   static_cast<unsigned long long>(skipped_total));
    }
    if (frame.checkpoint() || (summary.signal != 0 && !last)) {
      CheckpointData state = worker.state();
      state.config_text = config_text;
      state.tick = tick + 1;
      state.world_size = comm.size();
      state.seed = cfg.seed();
      state.skipped_ticks = skipped_total;
      const uint64_t consumed = (tick + 1) * cfg.train().batch_size();
      if (worker.data().size() > 0) {
        state.data_epoch = consumed / worker.data().size();
        state.data_position = consumed % worker.data().size();
      }
      result.checkpoint = checkpoint_path(run_dir, tick + 1);
      if (injected_fault().hits("ckpt_kill", 0, tick)) crash_during_write(result.checkpoint, checkpoint_bytes(state));
      save_checkpoint(result.checkpoint, state);
      prune_checkpoints(run_dir, cfg.train().keep_last(), cfg.train().keep_every());
    }
    if (summary.signal != 0 && !last) {
      stop_next = std::make_unique<Frame>();
      stop_next->set_stop(true);
      stop_next->set_preempted_by(static_cast<uint32_t>(summary.signal));
      std::fprintf(stderr, "\nlockstep: %s received: stopped after tick %llu; checkpoint %s\n"
                           "  continue with: lockstep train --resume %s\n",
                   summary.signal == SIGTERM ? "SIGTERM" : "SIGUSR1", static_cast<unsigned long long>(tick + 1),
                   result.checkpoint.c_str(), run_dir.c_str());
    }
  }
  if (result.preempted) {  // every rank got the stop frame; the checkpoint is written
    if (root) progress->finish();
    return result;
  }
  if (root) {
    progress->finish();
    result.train_seconds = progress->elapsed_s();
    std::fprintf(stderr, "trained %llu ticks in %.1f s; checkpoint %s\n", static_cast<unsigned long long>(cfg.train().steps()),
                 result.train_seconds, result.checkpoint.c_str());
    if (comm.size() > 1) {  // the time the ranks waited for the slowest one's compute
      const double share = progress->imbalance_share();
      const bool hint = share >= 0.02 && cfg.engine().balance() != EngineConfig::AUTO;
      std::fprintf(stderr, "  balance: the slowest rank computed %.1f%% of a tick longer than the mean rank%s\n", 100 * share,
                   hint ? " (engine.balance=AUTO gives faster ranks more samples, at the cost of bitwise reproducibility)" : "");
    }
  }
  comm.barrier();
  if (cfg.train().loss() == TrainConfig::CLASSIFY) {
    finish_classifier(cfg, worker, comm, run_dir, &result);
    return result;
  }

  // 4. finish: samples (all ranks together), then on rank 0 data, picture, energy distance --------------------
  const auto t0 = std::chrono::steady_clock::now();
  const SampleSpec spec = sample_spec(cfg, worker.data(), worker.source());
  SampledSet sampled;
  {
    const Worker::EmaSwap ema(worker, cfg.sample().use_ema());
    sampled = sample_distributed(comm, worker.net(), worker.schedule(), spec, cfg.sample().num(), cfg.sample().chunk(),
                                 cfg.sample().num(), nullptr, false);
  }
  if (root) {
    const torch::Tensor& samples = sampled.first;
    const double nfe = sampled.nfe;
    const torch::Tensor data = fresh_data(worker.data(), cfg.sample().num(), cfg.sample().seed());
    write_npy(run_dir + "/samples.npy", samples.data_ptr<float>(), npy_shape(samples.size(0), worker.data()));
    write_npy(run_dir + "/data.npy", data.data_ptr<float>(), npy_shape(data.size(0), worker.data()));
    const bool pictured = plot_samples(run_dir + "/samples.png", samples, &data, worker.data(), spec);
    const torch::Tensor fit = fresh_data(worker.data(), cfg.sample().num(), cfg.sample().seed() ^ 0xF17DA7Aull);
    const SampleQuality q = sample_quality(samples, data, fit, cfg.sample().seed());
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
