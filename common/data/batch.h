// The training batch of one rank's slice: data z, noise epsilon and time t of global samples [begin, end).
//
// Contract (docs/design.md, "The determinism contract"): for global sample j of tick s, with global batch B,
//   - the data item is the next item of the epoch permutation (finite data) or a fresh draw from
//     (seed, s, j) (infinite data);
//   - t_j = t_min + (t_max - t_min) * r_j with r_j = (j + u_j) / B, stratified over the global batch (default),
//     or r_j = u_j (uniform), or r_j = sigmoid(m + s n_j) (logit-normal); u_j, n_j from (seed, s, j);
//   - epsilon_j ~ N(0, I) from (seed, s, j), or with a source distribution (source.h) its draw x0_j from (seed, s, j);
//   - with a coupling (train.coupling, coupling.h) sample j's epsilon is that of its partner in the coupled set:
//     the whole global batch (every rank draws all B pairs and solves the same problem, or rank 0 solves and
//     broadcasts the pairs: share_coupling), or with per_rank the slice;
//   - the label is the item's class, or the null class with probability label_dropout (from (seed, s, j));
//   - with xflip (image items) the item is mirrored left to right with probability 1/2 (from (seed, s, j));
//   - train.loss TVM (TimeSpec.tvm): a jump t -> s and a flow-matching time r instead of the one time: the gap
//     g = sigmoid(gap_mean + gap_std n'), logit(s) ~ N(s_mean, s_std^2) truncated to s > g (inverse CDF), t = s - g,
//     logit(r) ~ N(s_mean, s_std^2), all mapped into [t_min, t_max]; the guidance scale w uniform in
//     [1, guidance_max] (1 where the label was dropped).
// So a slice is a contiguous time range, and the union of all slices is the same batch for any split.
// Read phase: "data" of the tick. Buffers are reused from tick to tick. set_host(pinned, bytes): the buffers in pinned
// host memory (for asynchronous copies to a GPU), and with bytes the uint8 items themselves (TrainBatch::z_bytes, for a
// source that has_bytes() and no coupling): to_device() then makes the floats where the batch goes, the same floats
// as the source's item() (byte_value). make() may run on another thread than the one that built the maker, never
// on two at once.
#pragma once

#include <torch/torch.h>

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "common/coupling/coupling.h"
#include "common/data/dataset.h"
#include "common/data/order.h"

namespace lockstep {

struct TimeSpec {
  double t_min = 0.0, t_max = 1.0;
  int sampling = 0;  // TrainConfig::TimeSampling
  double logit_mean = 0.0, logit_std = 1.0;
  double label_dropout = 0.0;  // probability that a sample's label becomes the null class
  bool tvm = false;            // train.loss TVM: draw (t, s, r, w) as above
  double s_mean = 0.4, s_std = 1.0, gap_mean = -0.8, gap_std = 1.0, guidance_max = 1.0;
  bool xflip = false;          // data.xflip: image items [C, H, W] flipped along W with probability 1/2
};

struct TrainBatch {
  torch::Tensor z;    // [n, d] data (undefined while the items are z_bytes)
  torch::Tensor eps;  // [n, d] noise
  torch::Tensor t;    // [n] times
  torch::Tensor y;    // [n] int64 class labels; num_classes (the null class) where dropped for guidance
  // train.loss TVM only (else undefined): the jump's end time s [n], the flow-matching time r [n], the guidance
  // scale w [n]
  torch::Tensor s, r, w;
  torch::Tensor z_bytes;  // [n, d] uint8 items (BatchMaker::set_host with bytes); to_device makes z of them
  // [n, 4] alpha, beta, d_alpha, d_beta of the path at t, in t's precision, where the caller computed them on the host
  // ahead (a CUDA graph cannot read t back to the host: gaussian_path.h, path_of); undefined: computed from t
  torch::Tensor path;
};

// Every tensor field of a batch, in one order, for code that treats them alike (copies, views, streams).
std::array<torch::Tensor*, 9> batch_tensors(TrainBatch& b);
std::array<const torch::Tensor*, 9> batch_tensors(const TrainBatch& b);

// The batch on another device (undefined fields stay undefined); uint8 items z_bytes become the floats z there (byte_value:
// exactly the floats the CPU makes). non_blocking: asynchronous copies from pinned memory on the current stream.
TrainBatch to_device(const TrainBatch& b, const torch::Device& device, bool non_blocking = false);
// Samples [start, start + length) of the batch, as views (undefined fields stay undefined).
TrainBatch narrow_batch(const TrainBatch& b, int64_t start, int64_t length);

// The standard normal quantile Phi^-1(p), p in (0, 1) (Acklam's approximation refined by Halley steps; |error| < 1e-12).
double normal_quantile(double p);

class BatchMaker {
 public:
  // source: the source distribution whose draws replace the noise (source.h; nullptr: N(0, I)); coupling: how
  // the global batch's source points are paired with its data points (coupling.h).
  BatchMaker(const DataSource& data, uint64_t seed, const TimeSpec& times, const DataSource* source = nullptr,
             const CouplingSpec& coupling = {});
  void make(uint64_t tick, uint64_t global_batch, uint64_t begin, uint64_t end, TrainBatch* out);
  // See above; call before the first make(). bytes is refused (InternalError) for a source without uint8 items or
  // with a coupling.
  void set_host(bool pinned, bool bytes);
  // CouplingSpec.coordinator: make() is then collective; `broadcast` sends the root's bytes to every rank, and only
  // the root (`root`) solves the coupling; the others receive its pairs.
  using Broadcast = std::function<void(std::string* bytes)>;
  void share_coupling(bool root, Broadcast broadcast);
  // The data item of global sample j of `tick` (finite data sets); exposed for the epoch tests.
  uint64_t item_of(uint64_t tick, uint64_t global_batch, uint64_t j);

 private:
  void allocate(int64_t n, TrainBatch* out) const;
  // samples [begin, end) as drawn, before any coupling
  void draw(uint64_t tick, uint64_t global_batch, uint64_t begin, uint64_t end, TrainBatch* out);
  const DataSource& data_;
  uint64_t seed_;
  TimeSpec times_;
  const DataSource* source_;
  CouplingSpec coupling_;
  bool root_ = true;
  bool pinned_ = false, bytes_ = false;
  Broadcast broadcast_;
  TrainBatch whole_;  // the pairs a coupling sees
  std::unique_ptr<EpochOrder> order_;
};

}  // namespace lockstep
