// The training batch of one rank's slice: data z, noise epsilon and time t of global samples [begin, end).
//
// Contract (DESIGN.md section 2): for global sample j of tick s, with global batch B,
//   - the data item is the next item of the epoch permutation (finite data) or a fresh draw from
//     (seed, s, j) (infinite data);
//   - t_j = t_min + (t_max - t_min) * r_j with r_j = (j + u_j) / B, stratified over the global batch (default),
//     or r_j = u_j (uniform), or r_j = sigmoid(m + s n_j) (logit-normal); u_j, n_j from (seed, s, j);
//   - epsilon_j ~ N(0, I) from (seed, s, j);
//   - the label is the item's class, or the null class with probability label_dropout (from (seed, s, j)).
// So a slice is a contiguous time range, and the union of all slices is the same batch for any split.
// Read phase: "data" of the tick. Buffers are reused from tick to tick.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "common/data/dataset.h"
#include "common/data/order.h"

namespace lockstep {

struct TimeSpec {
  double t_min = 0.0, t_max = 1.0;
  int sampling = 0;  // TrainConfig::TimeSampling
  double logit_mean = 0.0, logit_std = 1.0;
  double label_dropout = 0.0;  // probability that a sample's label becomes the null class
};

struct TrainBatch {
  torch::Tensor z;    // [n, d] data
  torch::Tensor eps;  // [n, d] noise
  torch::Tensor t;    // [n] times
  torch::Tensor y;    // [n] int64 class labels; num_classes (the null class) where dropped for guidance
};

class BatchMaker {
 public:
  BatchMaker(const DataSource& data, uint64_t seed, const TimeSpec& times);
  void make(uint64_t tick, uint64_t global_batch, uint64_t begin, uint64_t end, TrainBatch* out);
  // The data item of global sample j of `tick` (finite data sets); exposed for the epoch tests.
  uint64_t item_of(uint64_t tick, uint64_t global_batch, uint64_t j);

 private:
  const DataSource& data_;
  uint64_t seed_;
  TimeSpec times_;
  std::unique_ptr<EpochOrder> order_;
};

}  // namespace lockstep
