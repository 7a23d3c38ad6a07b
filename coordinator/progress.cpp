#include "coordinator/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "common/util/clock_text.h"

namespace lockstep {

Progress::Progress(const std::string& metrics_path, uint64_t total_ticks, uint64_t start_tick)
    : metrics_(metrics_path), total_(total_ticks), start_tick_(start_tick), tty_(::isatty(STDERR_FILENO) == 1),
      start_(Clock::now()), window_start_(start_), last_draw_(start_) {}

double Progress::elapsed_s() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

void Progress::tick(const Frame& frame, const TickSummary& s) {
  if (s.timings.size() > 1) {
    double slowest = 0, mean = 0;
    for (const Timings& t : s.timings) {
      slowest = std::max(slowest, compute_s(t));
      mean += compute_s(t) / static_cast<double>(s.timings.size());
    }
    imbalance_s_ += slowest - mean;
    tick_s_ += s.slowest_s;
  }
  if (!s.skipped) {
    window_loss_ += s.loss;
    ++window_ticks_;
  }
  window_samples_ += s.samples;
  peak_rss_mib_.clear();
  peak_device_mib_.clear();
  for (const Timings& t : s.timings) {
    peak_rss_mib_.push_back(t.peak_rss_mib());
    if (t.peak_device_mib() > 0) peak_device_mib_.push_back(t.peak_device_mib());
  }
  const uint64_t done = s.tick + 1;
  const auto now = Clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate_ticks = static_cast<double>(done - start_tick_) / std::max(elapsed, 1e-9);
  const double eta = static_cast<double>(total_ - done) / rate_ticks;

  if (frame.log()) {
    const double window_s = std::chrono::duration<double>(now - window_start_).count();
    last_rate_ = window_samples_ / std::max(window_s, 1e-9);
    const double loss = window_ticks_ > 0 ? window_loss_ / static_cast<double>(window_ticks_) : s.loss;
    JsonObject o;
    o.set("tick", done).set("loss", loss).set("samples_per_s", last_rate_).set("elapsed_s", elapsed)
        .set("lr", s.lr).set("grad_norm", s.grad_norm);
    if (s.has_eval) o.set("eval_loss", s.eval_loss);
    if (s.skipped_total > 0) o.set("skipped_ticks", s.skipped_total);
    if (s.loss_scale > 0) o.set("loss_scale", s.loss_scale).set("overflow_ticks", s.overflow_total);
    auto per_rank = [&](double (Timings::*phase)() const) {
      std::vector<double> v;
      for (const Timings& t : s.timings) v.push_back((t.*phase)());
      return v;
    };
    o.set("time_data_s", per_rank(&Timings::data)).set("time_data_ahead_s", per_rank(&Timings::data_ahead))
        .set("time_forward_s", per_rank(&Timings::forward))
        .set("time_backward_s", per_rank(&Timings::backward)).set("time_comm_s", per_rank(&Timings::comm))
        .set("time_optimizer_s", per_rank(&Timings::optimizer)).set("time_total_s", per_rank(&Timings::total))
        .set("peak_rss_mib", per_rank(&Timings::peak_rss_mib));
    if (!peak_device_mib_.empty()) o.set("peak_device_mib", per_rank(&Timings::peak_device_mib));
    std::vector<double> overlapped;  // gradient buckets whose all-reduce started inside backward (of all buckets)
    for (const Timings& t : s.timings) overlapped.push_back(t.buckets_overlapped());
    o.set("buckets_overlapped", overlapped);
    std::vector<double> slices;  // the split of the tick's global batch (engine.balance)
    for (const Slice& slice : frame.slices()) slices.push_back(static_cast<double>(slice.end() - slice.begin()));
    o.set("slice_samples", slices);
    metrics_.write(o);
    if (!tty_) {
      char eval[48] = "";
      if (s.has_eval) std::snprintf(eval, sizeof eval, "  eval %.4f", s.eval_loss);
      std::fprintf(stderr, "tick %llu/%llu  loss %.4f%s  %.0f samples/s  elapsed %s  eta %s\n",
                   static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_), loss, eval, last_rate_,
                   clock_text(elapsed).c_str(), clock_text(eta).c_str());
    }
    window_loss_ = 0.0;
    window_ticks_ = window_samples_ = 0;
    window_start_ = now;
  } else if (s.has_eval) {
    metrics_.write(JsonObject().set("tick", done).set("eval_loss", s.eval_loss));
  }
  if (tty_ && (std::chrono::duration<double>(now - last_draw_).count() > 0.2 || frame.stop())) {
    std::fprintf(stderr, "\r\033[Ktick %llu/%llu  loss %.4f  %.0f samples/s  eta %s",
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_), s.loss,
                 last_rate_ > 0 ? last_rate_ : s.samples / std::max(s.slowest_s, 1e-9), clock_text(eta).c_str());
    std::fflush(stderr);
    last_draw_ = now;
    drawn_ = true;
  }
}

void Progress::finish() {
  if (tty_ && drawn_) std::fprintf(stderr, "\n");
}

}  // namespace lockstep
