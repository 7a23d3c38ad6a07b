// The optimizer step sharded over the ranks of one machine, ZeRO-1 style (issue 9): each rank sums and updates
// only its own shard of the flat buffers, in shared memory (common/comm/shm_team.h), instead of all-reducing the
// whole gradient and running Adam on all of it on every rank.
//
// Contract: create(comm, numel, ema, timeout_s, note) is collective (every rank of `comm`, all on one machine, with
// the same numel and ema); it returns nullptr on every rank, with the reason in `note`, when the memory cannot be
// shared. In shared memory it holds every rank's flat parameter and gradient buffer (FlatParams' storage: values(),
// grads()) and one copy, for all ranks, of Adam's moments (m(), v()) and of the EMA of the weights (ema(), when
// asked for; else nullptr). Rank q owns shard q: the contiguous range [begin(), end()) of the flat buffers
// (ShmTeam::shard: in rank order, 64-byte aligned, covering them).
// Per tick, every rank in the same order:
//   reduce()  after backward, once every rank's gradient buffer is complete: my shard of the sum over the ranks,
//             ((g_0 + g_1) + g_2) + ... in rank order (the all-reduce's bits), into my own gradient buffer; returns
//             the norm of the whole summed gradient, the same double on every rank (the shards' sums of squares,
//             added in rank order). After it returns no rank reads another's gradient buffer again this tick.
//   update()  when that norm is finite (then on every rank alike; else no call): the clipping scale, Adam and the
//             EMA on my shard (the moments and the EMA are written by their shard's owner alone), then my shard of
//             the parameters into every rank's parameter buffer; it returns once every rank has, so every replica
//             then holds the whole step, bit for bit what the all-reduce and a whole Adam step give.
// Between ticks any rank may read the moments and the EMA (checkpoints, hashes, the EMA weights); a rank that writes
// its shard of them outside update() (a restore) calls sync() before anyone reads them.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "common/comm/comm.h"
#include "common/comm/shm_team.h"
#include "common/optim/adam.h"

namespace lockstep {

class ShardedStep {
 public:
  static std::unique_ptr<ShardedStep> create(Comm& comm, int64_t numel, bool ema, double timeout_s, std::string* note);

  float* values() const { return team_->mine(kValues); }
  float* grads() const { return team_->mine(kGrads); }
  float* m() const { return team_->common(kM); }
  float* v() const { return team_->common(kV); }
  float* ema() const { return ema_ ? team_->common(kEma) : nullptr; }
  int64_t begin() const { return begin_; }
  int64_t end() const { return end_; }

  double reduce();
  void update(Adam& adam, torch::Tensor& params, torch::Tensor& grads, double lr, double grad_scale, torch::Tensor* ema,
              double ema_weight);
  void sync(const char* what);

 private:
  enum PerRank { kValues = 0, kGrads = 1 };
  enum Common { kM = 0, kV = 1, kEma = 2 };
  ShardedStep(std::unique_ptr<ShmTeam> team, int64_t numel, bool ema);

  std::unique_ptr<ShmTeam> team_;
  int64_t begin_, end_;
  bool ema_;
  std::vector<const float*> inputs_;  // every rank's gradient shard
};

}  // namespace lockstep
