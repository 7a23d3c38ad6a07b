#include "coordinator/train_finish.h"

#include <chrono>
#include <cstdio>

#include "common/io/jsonl.h"
#include "common/io/npy.h"
#include "common/model/classifier.h"
#include "common/util/error.h"
#include "evaluation/image_metrics.h"
#include "evaluation/sample_run.h"

namespace lockstep {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// Rank 0's verdict, every rank's exception: TrainingStopped (exit 4) unless `problem` is empty on rank 0.
void stop_if(Run& run, std::string problem) {
  run.comm.broadcast(&problem, 0);
  if (!problem.empty()) throw TrainingStopped(problem);
}

// Rank 0: how long it took, and what balance could give back.
void report_run(Run& run, TrainResult* result) {
  run.progress->finish();
  result->train_seconds = run.progress->elapsed_s();
  std::fprintf(stderr, "trained %llu ticks in %.1f s; checkpoint %s\n", static_cast<unsigned long long>(run.cfg.train().steps()),
               result->train_seconds, result->checkpoint.c_str());
  std::string peaks;
  for (double mib : run.progress->peak_rss_mib()) peaks += (peaks.empty() ? "" : ", ") + std::to_string(static_cast<long long>(mib + 0.5));
  if (!peaks.empty()) std::fprintf(stderr, "  memory : peak resident set %s MiB (%s)\n", peaks.c_str(), run.comm.size() == 1 ? "one rank" : "per rank");
  std::string device;
  for (double mib : run.progress->peak_device_mib()) device += (device.empty() ? "" : ", ") + std::to_string(static_cast<long long>(mib + 0.5));
  if (!device.empty()) std::fprintf(stderr, "           peak GPU memory %s MiB (CUDA caching allocator, %s)\n", device.c_str(), run.comm.size() == 1 ? "one rank" : "per rank");
  if (run.comm.size() == 1) return;
  const double share = run.progress->imbalance_share();  // the time the ranks waited for the slowest one's compute
  const bool hint = share >= 0.02 && run.cfg.engine().balance() != EngineConfig::AUTO;
  std::fprintf(stderr, "  balance: the slowest rank computed %.1f%% of a tick longer than the mean rank%s\n", 100 * share,
               hint ? " (engine.balance=AUTO gives faster ranks more samples, at the cost of bitwise reproducibility)" : "");
}

// A classifier's finish: its accuracy on the held-out split (EMA weights when sample.use_ema), all ranks.
void finish_classifier(Run& run, TrainResult* result) {
  const Config& cfg = run.cfg;
  const auto t0 = std::chrono::steady_clock::now();
  std::string what;
  std::unique_ptr<ImageScorer> s;
  {
    const Worker::EmaSwap ema(run.worker, cfg.sample().use_ema());
    s = score_reference(run.comm, *as_classifier(run.worker.net()), cfg.data(), cfg.seed(), &what);
  }
  if (!run.root) return;
  result->test_accuracy = s->counts.accuracy();
  const double ce = s->mean_cross_entropy();
  JsonObject o;
  o.set("tick", cfg.train().steps()).set("test_accuracy", result->test_accuracy).set("test_cross_entropy", ce).set("test_reference", what)
      .set("test_seconds", seconds_since(t0));
  JsonlWriter(run.run_dir + "/metrics.jsonl").write(o);
  std::printf("metrics: test_accuracy=%.4f test_cross_entropy=%.4f (%s)\n", result->test_accuracy, ce, what.c_str());
  std::fflush(stdout);
}

// A generator's finish: samples (all ranks together), then on rank 0 data, picture and energy distance.
void finish_samples(Run& run, TrainResult* result) {
  const Config& cfg = run.cfg;
  Worker& worker = run.worker;
  const auto t0 = std::chrono::steady_clock::now();
  const SampleSpec spec = sample_spec(cfg, worker.data(), worker.source());
  const SampledSet sampled = sample_from_run(run, spec, cfg.sample().num(), nullptr, /*stop_on_signal=*/true);
  std::string bad;
  if (run.root && !torch::isfinite(sampled.first).all().item<bool>()) {
    const int64_t first = torch::nonzero(~torch::isfinite(sampled.first).all(1)).flatten()[0].item<int64_t>();
    bad = "the samples are not finite (sample " + std::to_string(first) + " is the first with NaN or Inf): the model diverged; samples.npy "
          "holds them. Look at the loss in metrics.jsonl, and at optim.lr and the path's settings";
  }
  if (!run.root) {
    stop_if(run, bad);
    return;
  }
  const torch::Tensor& samples = sampled.first;
  const torch::Tensor data = fresh_data(worker.data(), cfg.sample().num(), cfg.sample().seed());
  write_npy(run.run_dir + "/samples.npy", samples.data_ptr<float>(), npy_shape(samples.size(0), worker.data()));
  write_npy(run.run_dir + "/data.npy", data.data_ptr<float>(), npy_shape(data.size(0), worker.data()));
  if (!bad.empty()) stop_if(run, bad);  // no picture or distance of non-finite samples
  const bool pictured = plot_samples(run.run_dir + "/samples.png", samples, &data, worker.data(), spec);
  const torch::Tensor fit = fresh_data(worker.data(), cfg.sample().num(), cfg.sample().seed() ^ 0xF17DA7Aull);
  const SampleQuality q = sample_quality(samples, data, fit, cfg.sample().seed());
  result->energy_distance = q.energy_distance;
  result->gaussian_energy_distance = q.gaussian_energy_distance;
  const double secs = seconds_since(t0);
  JsonObject o;
  o.set("tick", cfg.train().steps()).set("energy_distance", q.energy_distance).set("gaussian_energy_distance", q.gaussian_energy_distance)
      .set("num_samples", cfg.sample().num()).set("nfe", sampled.nfe).set("sample_seconds", secs);
  if (static_cast<uint64_t>(q.points) < cfg.sample().num()) o.set("energy_distance_points", static_cast<uint64_t>(q.points));
  JsonlWriter(run.run_dir + "/metrics.jsonl").write(o);
  std::fprintf(stderr, "sampled %llu points (%s, %.0f NFE) in %.1f s\n", static_cast<unsigned long long>(cfg.sample().num()),
               spec.sampler.c_str(), sampled.nfe, secs);
  std::printf("metrics: energy_distance=%.5f gaussian_baseline=%.5f ratio=%.3f\n", q.energy_distance, q.gaussian_energy_distance,
              q.energy_distance / q.gaussian_energy_distance);
  if (pictured) std::printf("picture: %s/samples.png\n", run.run_dir.c_str());
  std::fflush(stdout);
  stop_if(run, bad);
}

}  // namespace

void finish_training(Run& run, TrainResult* result) {
  if (run.root) report_run(run, result);
  std::string skipped;  // a run that never changed its weights has nothing to sample
  const uint64_t played = run.cfg.train().steps() - run.start_tick, skipped_now = run.coordinator.skipped_total() - run.skipped_before;
  if (run.root && played > 0 && skipped_now == played) {
    skipped = "every tick of the run (" + std::to_string(played) + ") was skipped for non-finite gradients: the weights never changed. "
              "Look for NaN or Inf in the data, a learning rate or path setting out of range (optim.lr, path.*), or the ranks named above";
  }
  stop_if(run, skipped);
  if (run.cfg.train().loss() == TrainConfig::CLASSIFY) finish_classifier(run, result);
  else finish_samples(run, result);
}

}  // namespace lockstep
