#include "coordinator/auto_balance.h"

#include <algorithm>
#include <cmath>

namespace lockstep {
namespace {

constexpr double kSmoothing = 0.1;  // weight of the newest tick in the rate average
constexpr double kOutlier = 1.25;   // a tick's rate is clamped to within this factor of the estimate
constexpr int kSettling = 5;        // the first tick (warm-up) is ignored; the next ones weigh 1/2 and are not clamped
constexpr double kMinShare = 0.05;  // of the mean rate: every rank keeps some work, and so stays measured
constexpr double kMinGain = 0.005;  // a new split must shorten the predicted tick by this fraction

std::vector<uint64_t> proportional(uint64_t batch, const std::vector<double>& weights, uint64_t granule) {
  double total = 0;
  for (double w : weights) total += w;
  const size_t n = weights.size();
  std::vector<uint64_t> bounds(n + 1, 0);
  double cumulative = 0;
  // every rank keeps at least one granule where the batch allows, so that it stays measured
  const uint64_t least = batch >= granule * n ? granule : 0;
  for (size_t r = 0; r + 1 < n; ++r) {
    cumulative += weights[r];
    const double cut = static_cast<double>(batch) * cumulative / total / static_cast<double>(granule);
    const uint64_t lo = bounds[r] + least, hi = batch - least * (n - 1 - r);
    bounds[r + 1] = std::min(hi, std::max(lo, static_cast<uint64_t>(std::llround(cut)) * granule));
  }
  bounds[n] = batch;
  return bounds;
}

}  // namespace

AutoBalance::AutoBalance(uint64_t global_batch, int world_size)
    : batch_(global_batch),
      world_(world_size),
      granule_(global_batch >= 32 * static_cast<uint64_t>(world_size) ? 8 : 1),
      rate_(world_size, 0.0),
      seen_(world_size, 0),
      bounds_(proportional(global_batch, std::vector<double>(world_size, 1.0), 1)) {}

void AutoBalance::observe(int rank, uint64_t samples, double seconds) {
  if (samples == 0 || !(seconds > 0)) return;
  double rate = static_cast<double>(samples) / seconds;
  double& estimate = rate_[rank];
  const int seen = seen_[rank]++;
  if (seen == 0) return;  // one-time costs of the first tick (allocations, kernel selection)
  if (seen == 1) {
    estimate = rate;
  } else if (seen < kSettling) {
    estimate += 0.5 * (rate - estimate);
  } else {
    rate = std::min(estimate * kOutlier, std::max(estimate / kOutlier, rate));
    estimate += kSmoothing * (rate - estimate);
  }
}

double AutoBalance::predicted_s(const std::vector<uint64_t>& bounds) const {
  double slowest = 0;
  for (int r = 0; r < world_; ++r) slowest = std::max(slowest, static_cast<double>(bounds[r + 1] - bounds[r]) / rate_[r]);
  return slowest;
}

void AutoBalance::update() {
  double mean = 0;
  for (double v : rate_) {
    if (v <= 0) return;  // not every rank measured yet
    mean += v / world_;
  }
  std::vector<double> weights(rate_);
  for (double& w : weights) w = std::max(w, kMinShare * mean);
  std::vector<uint64_t> candidate = proportional(batch_, weights, granule_);
  if (candidate != bounds_ && predicted_s(candidate) <= (1.0 - kMinGain) * predicted_s(bounds_)) bounds_ = std::move(candidate);
}

}  // namespace lockstep
