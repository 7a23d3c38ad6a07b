// The training batch of one rank's slice: data z, noise epsilon and time t of global samples [begin, end).
//
// Contract (DESIGN.md section 2): for global sample j of tick s, with global batch B,
//   - the data item is the next item of the epoch permutation (finite data) or a fresh draw from
//     (seed, s, j) (infinite data);
//   - t_j = t_min + (t_max - t_min) * (j + u_j) / B, stratified over the global batch, u_j from (seed, s, j);
//   - epsilon_j ~ N(0, I) from (seed, s, j).
// So a slice is a contiguous time range, and the union of all slices is the same batch for any split.
// Read phase: "data" of the tick. Buffers are reused from tick to tick.
#pragma once

#include <torch/torch.h>

#include <memory>

#include "common/data/dataset.h"
#include "common/data/order.h"

namespace lockstep {

struct TrainBatch {
  torch::Tensor z;    // [n, d] data
  torch::Tensor eps;  // [n, d] noise
  torch::Tensor t;    // [n] times
};

class BatchMaker {
 public:
  BatchMaker(const DataSource& data, uint64_t seed, double t_min, double t_max);
  void make(uint64_t tick, uint64_t global_batch, uint64_t begin, uint64_t end, TrainBatch* out);
  // The data item of global sample j of `tick` (finite data sets); exposed for the epoch tests.
  uint64_t item_of(uint64_t tick, uint64_t global_batch, uint64_t j);

 private:
  const DataSource& data_;
  uint64_t seed_;
  double t_min_, t_max_;
  std::unique_ptr<EpochOrder> order_;
};

}  // namespace lockstep
