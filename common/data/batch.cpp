#include "common/data/batch.h"

#include <cmath>

namespace lockstep {

BatchMaker::BatchMaker(const DataSource& data, uint64_t seed, const TimeSpec& times)
    : data_(data), seed_(seed), times_(times) {
  if (data.size() > 0) order_ = std::make_unique<EpochOrder>(seed, data.size());
}

uint64_t BatchMaker::item_of(uint64_t tick, uint64_t global_batch, uint64_t j) {
  return order_->item(tick * global_batch + j);
}

void BatchMaker::make(uint64_t tick, uint64_t global_batch, uint64_t begin, uint64_t end, TrainBatch* out) {
  const int64_t n = static_cast<int64_t>(end - begin), d = data_.dim();
  if (!out->z.defined() || out->z.size(0) != n) {
    out->z = torch::empty({n, d}, torch::kFloat32);
    out->eps = torch::empty({n, d}, torch::kFloat32);
    out->t = torch::empty({n}, torch::kFloat32);
    out->y = torch::empty({n}, torch::kInt64);
  }
  int64_t* y = out->y.data_ptr<int64_t>();
  float* z = out->z.data_ptr<float>();
  float* eps = out->eps.data_ptr<float>();
  float* t = out->t.data_ptr<float>();
  const double width = times_.t_max - times_.t_min;
  for (uint64_t j = begin; j < end; ++j) {
    const int64_t r = static_cast<int64_t>(j - begin);
    if (order_) {
      y[r] = data_.item(item_of(tick, global_batch, j), z + r * d);
    } else {
      CounterRng rng(seed_, tick, j, Stream::kDataIndex);
      y[r] = data_.fresh(rng, z + r * d);
    }
    if (times_.label_dropout > 0) {
      CounterRng drop(seed_, tick, j, Stream::kLabelDrop);
      if (drop.uniform() < times_.label_dropout) y[r] = data_.num_classes();
    }
    CounterRng time_rng(seed_, tick, j, Stream::kTime);
    double unit;  // in [0, 1]
    switch (times_.sampling) {
      case 1: unit = time_rng.uniform(); break;
      case 2: unit = 1.0 / (1.0 + std::exp(-(times_.logit_mean + times_.logit_std * time_rng.normal()))); break;
      default: unit = (static_cast<double>(j) + time_rng.uniform()) / static_cast<double>(global_batch);
    }
    t[r] = static_cast<float>(times_.t_min + width * unit);
    CounterRng noise_rng(seed_, tick, j, Stream::kNoise);
    for (int64_t k = 0; k < d; ++k) eps[r * d + k] = static_cast<float>(noise_rng.normal());
  }
}

}  // namespace lockstep
