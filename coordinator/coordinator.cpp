#include "coordinator/coordinator.h"

#include <cmath>
#include <cstring>

#include "common/util/error.h"

namespace lockstep {

Coordinator::Coordinator(const Config& cfg, int world_size)
    : cfg_(cfg), world_size_(world_size), weights_(world_size, 1.0) {
  const EngineConfig& e = cfg.engine();
  if (e.balance() == EngineConfig::AUTO && world_size > 1) {
    auto_balance_ = std::make_unique<AutoBalance>(cfg.train().batch_size(), world_size);
  }
  if (e.balance() == EngineConfig::MANUAL) {
    LS_CHECK_INPUT(e.slice_weights_size() == world_size,
                   "engine.slice_weights has " << e.slice_weights_size() << " weights for " << world_size << " ranks");
    for (int r = 0; r < world_size; ++r) weights_[r] = e.slice_weights(r);
  }
  // engine.cuda_graphs replays the shapes of one chunk: every rank's slice must be whole micro-batches (or one chunk)
  const uint64_t micro = cfg.train().micro_batch();
  if (e.cuda_graphs() && micro > 0) {
    const std::vector<uint64_t> bounds = slice_bounds(cfg.train().batch_size());
    for (int r = 0; r < world_size; ++r) {
      const uint64_t n = bounds[r + 1] - bounds[r];
      LS_CHECK_INPUT(n <= micro || n % micro == 0,
                     "engine.cuda_graphs: rank " << r << "'s slice of " << n << " samples ends in a partial micro-batch of " << n % micro
                                                 << " (train.micro_batch " << micro << "), and a graph replays one shape; choose a "
                                                 << "train.micro_batch that divides every rank's slice");
    }
  }
}

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

std::vector<uint64_t> Coordinator::slice_bounds(uint64_t B) const {
  if (auto_balance_ && B == cfg_.train().batch_size()) return auto_balance_->bounds();
  double total = 0;
  for (double w : weights_) total += w;
  std::vector<uint64_t> bounds(world_size_ + 1, 0);
  double cumulative = 0;
  for (int r = 0; r < world_size_; ++r) {
    cumulative += weights_[r];
    bounds[r + 1] = r + 1 == world_size_ ? B : static_cast<uint64_t>(std::floor(B * cumulative / total + 1e-9));
    bounds[r + 1] = std::max(bounds[r + 1], bounds[r]);
  }
  return bounds;
}

Frame Coordinator::plan(uint64_t tick) {
  const TrainConfig& t = cfg_.train();
  const EngineConfig& e = cfg_.engine();
  Frame f;
  f.set_tick(tick);
  if (tick >= t.steps()) {
    f.set_stop(true);
    return f;
  }
  const uint64_t B = t.batch_size();
  f.set_global_batch(B);
  const std::vector<uint64_t> bounds = slice_bounds(B);
  for (int r = 0; r < world_size_; ++r) {
    Slice* s = f.add_slices();
    s->set_rank(r);
    s->set_begin(bounds[r]);
    s->set_end(bounds[r + 1]);
  }
  f.set_lr(lr_at(tick));
  const uint64_t done = tick + 1;
  const bool last = done == t.steps();
  auto every = [&](uint64_t n) { return n > 0 && (done % n == 0 || last); };
  f.set_log(every(t.log_every()) || tick == 0);
  f.set_evaluate(every(t.eval_every()));
  f.set_sample_eval(every(t.sample_eval_every()));
  f.set_check_hash(every(e.check_every()) || (e.check_every() > 0 && tick == 0));
  f.set_checkpoint(last || (t.checkpoint_every() > 0 && done % t.checkpoint_every() == 0));
  return f;
}

TickSummary Coordinator::collect(const Frame& frame, const std::vector<Report>& reports) {
  LS_CHECK(static_cast<int>(reports.size()) == world_size_, "expected " << world_size_ << " reports, got " << reports.size());
  TickSummary s;
  s.tick = frame.tick();
  s.lr = frame.lr();
  double loss_sum = 0.0, eval_sum = 0.0;
  uint64_t eval_count = 0;
  for (const Report& r : reports) {
    LS_CHECK(r.tick() == frame.tick(), "rank " << r.rank() << " reported tick " << r.tick() << " for tick " << frame.tick());
    loss_sum += r.loss_sum();
    s.samples += r.count();
    s.timings.push_back(r.timings());
    s.slowest_s = std::max(s.slowest_s, r.timings().total());
    eval_sum += r.eval_loss_sum();
    eval_count += r.eval_count();
    if (r.nonfinite_loss()) s.nonfinite_ranks.push_back(static_cast<int>(r.rank()));
    if (r.signal() != 0 && s.signal == 0) s.signal = static_cast<int>(r.signal());
  }
  s.skipped = reports.front().skipped();
  if (s.skipped) ++skipped_total_;
  s.skipped_total = skipped_total_;
  // a non-finite loss is a divergence (train.nonfinite), whatever the precision; else fp16's overflow
  s.overflow = reports.front().overflow() && s.nonfinite_ranks.empty();
  if (reports.front().overflow()) ++overflow_total_;
  s.overflow_total = overflow_total_;
  s.loss_scale = reports.front().loss_scale();
  LS_CHECK(s.samples == frame.global_batch(), "reports cover " << s.samples << " samples of " << frame.global_batch());
  s.loss = loss_sum / static_cast<double>(s.samples);
  s.grad_norm = reports.front().grad_norm();
  if (frame.evaluate() && eval_count > 0) {
    s.has_eval = true;
    s.eval_loss = eval_sum / static_cast<double>(eval_count);
  }

  // AUTO balance: the next split follows each rank's compute speed (data + forward + backward)
  if (auto_balance_) {
    for (int r = 0; r < world_size_; ++r) auto_balance_->observe(r, reports[r].count(), compute_s(reports[r].timings()));
    auto_balance_->update();
  }

  // Replica consistency: every rank's state hashes against rank 0's.
  if (frame.check_hash()) {
    const auto& ref = reports[0].state_hash();
    for (int r = 1; r < world_size_; ++r) {
      const auto& h = reports[r].state_hash();
      LS_CHECK(h.size() == ref.size(), "rank " << r << " sent " << h.size() << " state hashes, rank 0 " << ref.size());
      for (int i = 0; i < ref.size(); ++i) {
        if (h[i] == ref[i]) continue;
        if (desync_tensor_.empty()) {
          desync_tensor_ = i < static_cast<int>(state_names_.size()) ? state_names_[i] : std::to_string(i);
          desync_tick_ = frame.tick();
        }
        desync_ranks_.push_back(r);
        break;
      }
    }
  }
  return s;
}

std::string Coordinator::desync_message(const std::vector<std::string>& tensors) const {
  std::string ranks;
  for (int r : desync_ranks_) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
  std::string msg = "replicas diverged after tick " + std::to_string(desync_tick_) + ": rank" +
                    (desync_ranks_.size() > 1 ? "s " : " ") + ranks + " differ" + (desync_ranks_.size() > 1 ? "" : "s") +
                    " from rank 0; first differing tensor: " + desync_tensor_;
  const std::string& ref = tensors.at(0);
  for (int r : desync_ranks_) {
    const std::string& other = tensors.at(r);
    const size_t n = std::min(ref.size(), other.size()) / sizeof(float);
    for (size_t i = 0; i < n; ++i) {
      float a, b;
      std::memcpy(&a, ref.data() + i * sizeof(float), sizeof a);
      std::memcpy(&b, other.data() + i * sizeof(float), sizeof b);
      if (std::memcmp(&a, &b, sizeof a) != 0) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "\n  rank %d: first differing element %zu: %.9g (rank 0: %.9g)", r, i, b, a);
        msg += buf;
        break;
      }
    }
  }
  return msg;
}

}  // namespace lockstep
