#include "worker/worker.h"

#include <chrono>

#include "common/loss/flow_matching.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

}  // namespace

uint64_t init_seed_of(const Config& cfg) {
  return cfg.model().init_seed() != 0 ? cfg.model().init_seed() : cfg.seed() * 0x9E3779B97F4A7C15ull + 0x1234567ull;
}

Worker::Worker(const Config& cfg, Comm& comm) : cfg_(cfg), comm_(comm) {
  data_ = make_dataset(cfg.data(), cfg.seed());
  schedule_ = make_schedule(cfg.path());
  net_ = make_net(cfg.model(), data_->dim(), init_seed_of(cfg));
  params_ = std::make_unique<FlatParams>(*net_);
  adam_ = std::make_unique<Adam>(cfg.optim(), params_->numel());
  batches_ = std::make_unique<BatchMaker>(*data_, cfg.seed(), cfg.path().t_min(), cfg.path().t_max());
}

Report Worker::play(const Frame& frame) {
  const auto t_start = Clock::now();
  const Slice& slice = frame.slices(comm_.rank());
  LS_CHECK(slice.rank() == static_cast<uint32_t>(comm_.rank()), "frame slice order");
  Report report;
  report.set_tick(frame.tick());
  report.set_rank(comm_.rank());
  Timings* tm = report.mutable_timings();

  // 1. data
  auto t0 = Clock::now();
  const uint64_t n = slice.end() - slice.begin();
  if (n > 0) batches_->make(frame.tick(), frame.global_batch(), slice.begin(), slice.end(), &batch_);
  tm->set_data(since(t0));

  // 2. forward, 3. backward (a rank with an empty slice contributes zeros)
  params_->zero_grad();
  double loss_sum = 0.0;
  if (n > 0) {
    t0 = Clock::now();
    const torch::Tensor slice_sum = cfm_loss_per_sample(*net_, *schedule_, batch_).sum();
    const torch::Tensor loss = slice_sum / static_cast<double>(frame.global_batch());
    tm->set_forward(since(t0));
    t0 = Clock::now();
    loss.backward();
    tm->set_backward(since(t0));
    loss_sum = slice_sum.item<double>();
  }
  report.set_loss_sum(loss_sum);
  report.set_count(n);

  // 4. comm
  t0 = Clock::now();
  comm_.allreduce_sum(params_->grads().data_ptr<float>(), static_cast<size_t>(params_->numel()));
  tm->set_comm(since(t0));

  // 5. optimizer
  t0 = Clock::now();
  torch::NoGradGuard no_grad;
  const double norm = params_->grads().norm().item<double>();
  report.set_grad_norm(norm);
  const double clip = cfg_.optim().grad_clip();
  if (clip > 0 && norm > clip) params_->grads().mul_(clip / (norm + 1e-6));
  adam_->step(params_->values(), params_->grads(), frame.lr());
  tm->set_optimizer(since(t0));
  tm->set_total(since(t_start));
  return report;
}

CheckpointData Worker::state() const {
  CheckpointData d;
  d.params = params_->spans();
  d.optimizer_step = adam_->step_count();
  d.tensors = {{"params", params_->values().clone()},
               {"adam.exp_avg", adam_->exp_avg().clone()},
               {"adam.exp_avg_sq", adam_->exp_avg_sq().clone()}};
  return d;
}

}  // namespace lockstep
