#include "worker/sharded_step.h"

#include <cmath>
#include <cstring>

#include "common/kernels/sum_ranks.h"

namespace lockstep {

std::unique_ptr<ShardedStep> ShardedStep::create(Comm& comm, int64_t numel, bool ema, double timeout_s, std::string* note) {
  const size_t n = static_cast<size_t>(numel);
  ShmTeamLayout layout{{n, n}, {n, n}};
  if (ema) layout.common.push_back(n);
  std::string why_not;
  std::unique_ptr<ShmTeam> team = ShmTeam::create(comm, layout, &why_not);
  if (!team) {
    *note = "shared memory failed: " + why_not;
    return nullptr;
  }
  team->set_timeout(timeout_s);
  char mib[32];
  std::snprintf(mib, sizeof mib, "%.1f", static_cast<double>(team->mapped_bytes()) / (1 << 20));
  *note = "sharded: each of the " + std::to_string(comm.size()) + " ranks sums and updates 1/" + std::to_string(comm.size()) +
          " of the parameters, in shared memory (" + mib + " MiB)";
  return std::unique_ptr<ShardedStep>(new ShardedStep(std::move(team), numel, ema));
}

ShardedStep::ShardedStep(std::unique_ptr<ShmTeam> team, int64_t numel, bool ema)
    : team_(std::move(team)), ema_(ema), inputs_(static_cast<size_t>(team_->size())) {
  const auto range = team_->shard(static_cast<size_t>(numel), team_->rank());
  begin_ = static_cast<int64_t>(range.first);
  end_ = static_cast<int64_t>(range.second);
}

double ShardedStep::reduce() {
  team_->exchange(0.0, "sharded optimizer step (gradients complete)");
  for (int q = 0; q < team_->size(); ++q) inputs_[q] = team_->of(kGrads, q) + begin_;
  const double mine = sum_squares_in_rank_order(inputs_.data(), team_->size(), static_cast<size_t>(end_ - begin_), grads() + begin_);
  double total = 0.0;
  for (double part : team_->exchange(mine, "sharded optimizer step (gradient norm)")) total += part;
  return std::sqrt(total);
}

void ShardedStep::update(Adam& adam, torch::Tensor& params, torch::Tensor& grads, double lr, double grad_scale, torch::Tensor* ema,
                         double ema_weight) {
  torch::NoGradGuard no_grad;
  if (grad_scale != 1.0) grads.narrow(0, begin_, end_ - begin_).mul_(grad_scale);
  adam.step(params, grads, lr, ema, ema_weight, begin_, end_);
  const size_t bytes = static_cast<size_t>(end_ - begin_) * sizeof(float);
  for (int q = 0; q < team_->size(); ++q) {
    if (q != team_->rank()) std::memcpy(team_->of(kValues, q) + begin_, values() + begin_, bytes);
  }
  sync("sharded optimizer step (parameters written)");
}

void ShardedStep::sync(const char* what) { team_->exchange(0.0, what); }

}  // namespace lockstep
