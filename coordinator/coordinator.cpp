#include "coordinator/coordinator.h"

#include <cmath>

#include "common/util/error.h"

namespace lockstep {

Coordinator::Coordinator(const Config& cfg, int world_size) : cfg_(cfg), world_size_(world_size) {}

double Coordinator::lr_at(uint64_t tick) const {
  const OptimConfig& o = cfg_.optim();
  const double warm = o.warmup_ticks();
  if (tick < o.warmup_ticks()) return o.lr() * (static_cast<double>(tick) + 1.0) / warm;
  const double total = static_cast<double>(cfg_.train().steps());
  const double span = std::max(1.0, total - warm);
  const double progress = std::min(1.0, (static_cast<double>(tick) - warm) / span);
  const double cosine = 0.5 * (1.0 + std::cos(3.14159265358979323846 * progress));
  return o.lr() * (o.final_lr_fraction() + (1.0 - o.final_lr_fraction()) * cosine);
}

Frame Coordinator::plan(uint64_t tick) const {
  const TrainConfig& t = cfg_.train();
  Frame f;
  f.set_tick(tick);
  const uint64_t B = t.batch_size();
  f.set_global_batch(B);
  for (int r = 0; r < world_size_; ++r) {
    Slice* s = f.add_slices();
    s->set_rank(r);
    s->set_begin(B * r / world_size_);
    s->set_end(B * (r + 1) / world_size_);
  }
  f.set_lr(lr_at(tick));
  const uint64_t done = tick + 1;
  const bool last = done == t.steps();
  f.set_log(done % t.log_every() == 0 || last || tick == 0);
  f.set_checkpoint(last || (t.checkpoint_every() > 0 && done % t.checkpoint_every() == 0));
  f.set_stop(last);
  return f;
}

TickSummary Coordinator::collect(const Frame& frame, const std::vector<Report>& reports) const {
  LS_CHECK(static_cast<int>(reports.size()) == world_size_, "expected " << world_size_ << " reports, got " << reports.size());
  TickSummary s;
  s.tick = frame.tick();
  s.lr = frame.lr();
  double loss_sum = 0.0;
  for (const Report& r : reports) {
    LS_CHECK(r.tick() == frame.tick(), "rank " << r.rank() << " reported tick " << r.tick() << " for tick " << frame.tick());
    loss_sum += r.loss_sum();
    s.samples += r.count();
    if (r.timings().total() >= s.slowest_s) {
      s.slowest_s = r.timings().total();
      s.slowest = r.timings();
    }
  }
  LS_CHECK(s.samples == frame.global_batch(), "reports cover " << s.samples << " samples of " << frame.global_batch());
  s.loss = loss_sum / static_cast<double>(s.samples);
  s.grad_norm = reports.front().grad_norm();
  return s;
}

}  // namespace lockstep
