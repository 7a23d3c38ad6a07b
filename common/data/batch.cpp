#include "common/data/batch.h"

#include "common/coupling/coupling.h"
#include "common/util/error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace lockstep {
namespace {

double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// byte_value of every byte, on `device`: made there once (a blocking copy) and kept for the process's life (never
// freed, so no device memory is released after the device's context at exit)
torch::Tensor byte_table(const torch::Device& device) {
  static std::mutex lock;
  static auto* tables = new std::map<std::string, torch::Tensor>();
  const std::lock_guard<std::mutex> hold(lock);
  torch::Tensor& table = (*tables)[device.str()];
  if (!table.defined()) {
    std::vector<float> v(256);
    for (int k = 0; k < 256; ++k) v[static_cast<size_t>(k)] = byte_value(static_cast<uint8_t>(k));
    table = torch::from_blob(v.data(), {256}, torch::kFloat32).to(device, /*non_blocking=*/false, /*copy=*/true);
  }
  return table;
}

}  // namespace

std::array<torch::Tensor*, 9> batch_tensors(TrainBatch& b) { return {&b.z, &b.eps, &b.t, &b.y, &b.s, &b.r, &b.w, &b.z_bytes, &b.path}; }

std::array<const torch::Tensor*, 9> batch_tensors(const TrainBatch& b) {
  const std::array<torch::Tensor*, 9> all = batch_tensors(const_cast<TrainBatch&>(b));
  std::array<const torch::Tensor*, 9> out;
  std::copy(all.begin(), all.end(), out.begin());
  return out;
}

TrainBatch to_device(const TrainBatch& b, const torch::Device& device, bool non_blocking) {
  TrainBatch out;
  const auto from = batch_tensors(b);
  const auto to = batch_tensors(out);
  for (size_t k = 0; k < from.size(); ++k)
    if (from[k]->defined()) *to[k] = from[k]->to(device, non_blocking);
  if (!out.z.defined() && out.z_bytes.defined()) {  // the floats of the bytes, by table: the CPU's floats bit for bit
    out.z = byte_table(device).index_select(0, out.z_bytes.reshape({-1}).to(torch::kLong)).view(out.z_bytes.sizes());
    out.z_bytes = torch::Tensor();
  }
  return out;
}

TrainBatch narrow_batch(const TrainBatch& b, int64_t start, int64_t length) {
  TrainBatch out;
  const auto from = batch_tensors(b);
  const auto to = batch_tensors(out);
  for (size_t k = 0; k < from.size(); ++k)
    if (from[k]->defined()) *to[k] = from[k]->narrow(0, start, length);
  return out;
}

double normal_quantile(double p) {
  static const double a[] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                             1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
  static const double b[] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                             6.680131188771972e+01, -1.328068155288572e+01};
  static const double c[] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                             -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
  static const double d[] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00};
  const double lo = 0.02425;
  double x;
  if (p < lo || p > 1 - lo) {
    const double q = std::sqrt(-2 * std::log(p < lo ? p : 1 - p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    if (p > 1 - lo) x = -x;
  } else {
    const double q = p - 0.5, r = q * q;
    x = (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
        (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  for (int i = 0; i < 2; ++i) {  // Halley on Phi(x) - p
    const double e = normal_cdf(x) - p, u = e * std::sqrt(2 * M_PI) * std::exp(x * x / 2);
    x -= u / (1 + x * u / 2);
  }
  return x;
}

BatchMaker::BatchMaker(const DataSource& data, uint64_t seed, const TimeSpec& times, const DataSource* source,
                       const CouplingSpec& coupling)
    : data_(data), seed_(seed), times_(times), source_(source), coupling_(coupling) {
  if (data.size() > 0) order_ = std::make_unique<EpochOrder>(seed, data.size());
}

uint64_t BatchMaker::item_of(uint64_t tick, uint64_t global_batch, uint64_t j) {
  return order_->item(tick * global_batch + j);
}

void BatchMaker::make(uint64_t tick, uint64_t global_batch, uint64_t begin, uint64_t end, TrainBatch* out) {
  if (coupling_.kind == 0) {
    draw(tick, global_batch, begin, end, out);
    return;
  }
  // a coupled batch: draw every pair the coupling sees (the global batch, or this slice with per_rank), solve, keep
  // the slice with its partners
  const uint64_t lo = coupling_.per_rank ? begin : 0, hi = coupling_.per_rank ? end : global_batch;
  draw(tick, global_batch, lo, hi, &whole_);
  const int64_t d = data_.dim();
  const int64_t m = static_cast<int64_t>(hi - lo);
  const bool shared = coupling_.coordinator && !coupling_.per_rank && broadcast_;
  std::vector<int64_t> partner;
  std::string bytes;
  if (!shared || root_) {
    try {
      partner = couple(coupling_, whole_.z.data_ptr<float>(), whole_.eps.data_ptr<float>(), m, d, seed_, tick, lo);
    } catch (...) {
      if (shared) broadcast_(&bytes);  // a root that fails sends nothing, so the others fail at once too
      throw;
    }
  }
  if (shared) {  // the root's pairs, on every rank
    if (root_) bytes.assign(reinterpret_cast<const char*>(partner.data()), partner.size() * sizeof(int64_t));
    broadcast_(&bytes);
    LS_CHECK(bytes.size() == static_cast<size_t>(m) * sizeof(int64_t), "coupling broadcast: " << bytes.size() << " bytes for " << m << " pairs");
    partner.resize(static_cast<size_t>(m));
    std::memcpy(partner.data(), bytes.data(), bytes.size());
  }
  allocate(static_cast<int64_t>(end - begin), out);
  const int64_t first = static_cast<int64_t>(begin - lo), n = static_cast<int64_t>(end - begin);
  out->z.copy_(whole_.z.narrow(0, first, n));
  out->t.copy_(whole_.t.narrow(0, first, n));
  out->y.copy_(whole_.y.narrow(0, first, n));
  for (torch::Tensor TrainBatch::*f : {&TrainBatch::s, &TrainBatch::r, &TrainBatch::w})
    if ((whole_.*f).defined()) (out->*f).copy_((whole_.*f).narrow(0, first, n));
  const float* src = whole_.eps.data_ptr<float>();
  float* eps = out->eps.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) std::copy(src + partner[first + i] * d, src + (partner[first + i] + 1) * d, eps + i * d);
}

// An image item [C, H, W] mirrored left to right, in place.
template <typename T>
static void mirror_rows(T* item, const std::vector<int64_t>& shape) {
  const int64_t w = shape.back(), rows = shape.size() == 3 ? shape[0] * shape[1] : 1;
  for (int64_t r = 0; r < rows; ++r) std::reverse(item + r * w, item + (r + 1) * w);
}

void BatchMaker::share_coupling(bool root, Broadcast broadcast) {
  root_ = root;
  broadcast_ = std::move(broadcast);
}

void BatchMaker::set_host(bool pinned, bool bytes) {
  LS_CHECK(!bytes || (data_.has_bytes() && coupling_.kind == 0), "uint8 batches need a source of uint8 items and no coupling");
  pinned_ = pinned;
  bytes_ = bytes;
}

void BatchMaker::allocate(int64_t n, TrainBatch* out) const {
  const int64_t d = data_.dim();
  const torch::Tensor& items = bytes_ ? out->z_bytes : out->z;
  if (!items.defined() || items.size(0) != n) {
    const torch::TensorOptions f32 = torch::TensorOptions(torch::kFloat32).pinned_memory(pinned_);
    out->z = bytes_ ? torch::Tensor() : torch::empty({n, d}, f32);
    out->z_bytes = bytes_ ? torch::empty({n, d}, f32.dtype(torch::kUInt8)) : torch::Tensor();
    out->eps = torch::empty({n, d}, f32);
    out->t = torch::empty({n}, f32);
    out->y = torch::empty({n}, f32.dtype(torch::kInt64));
    if (times_.tvm) {
      out->s = torch::empty({n}, f32);
      out->r = torch::empty({n}, f32);
      out->w = torch::empty({n}, f32);
    }
  }
}

void BatchMaker::draw(uint64_t tick, uint64_t global_batch, uint64_t begin, uint64_t end, TrainBatch* out) {
  const int64_t n = static_cast<int64_t>(end - begin), d = data_.dim();
  allocate(n, out);
  int64_t* y = out->y.data_ptr<int64_t>();
  float* z = bytes_ ? nullptr : out->z.data_ptr<float>();
  uint8_t* zb = bytes_ ? out->z_bytes.data_ptr<uint8_t>() : nullptr;
  float* eps = out->eps.data_ptr<float>();
  float* t = out->t.data_ptr<float>();
  const double width = times_.t_max - times_.t_min;
  const std::vector<int64_t> shape = data_.item_shape();
  for (uint64_t j = begin; j < end; ++j) {
    const int64_t r = static_cast<int64_t>(j - begin);
    if (bytes_) {  // (a source of uint8 items is finite)
      y[r] = data_.item_bytes(item_of(tick, global_batch, j), zb + r * d);
    } else if (order_) {
      y[r] = data_.item(item_of(tick, global_batch, j), z + r * d);
    } else {
      CounterRng rng(seed_, tick, j, Stream::kDataIndex);
      y[r] = data_.fresh(rng, z + r * d);
    }
    if (times_.xflip) {
      CounterRng flip(seed_, tick, j, Stream::kFlip);
      if (flip.uniform() < 0.5) {
        if (bytes_) mirror_rows(zb + r * d, shape);
        else mirror_rows(z + r * d, shape);
      }
    }
    if (times_.label_dropout > 0) {
      CounterRng drop(seed_, tick, j, Stream::kLabelDrop);
      if (drop.uniform() < times_.label_dropout) y[r] = data_.num_classes();
    }
    CounterRng time_rng(seed_, tick, j, Stream::kTime);
    if (times_.tvm) {
      CounterRng gap_rng(seed_, tick, j, Stream::kTvmGap), fm_rng(seed_, tick, j, Stream::kTvmFm);
      const double gap = sigmoid(times_.gap_mean + times_.gap_std * gap_rng.normal());
      // logit(s) ~ N(m, sd^2) truncated to logit(s) > logit(gap): inverse CDF on [Phi(a), 1)
      const double lower = normal_cdf((std::log(gap / (1 - gap)) - times_.s_mean) / times_.s_std);
      const double p = std::min(1 - 1e-15, std::max(1e-15, lower + (1 - lower) * time_rng.uniform()));
      const double end = std::max(gap, sigmoid(times_.s_mean + times_.s_std * normal_quantile(p)));
      const double fm = sigmoid(times_.s_mean + times_.s_std * fm_rng.normal());
      out->s.data_ptr<float>()[r] = static_cast<float>(times_.t_min + width * end);
      t[r] = static_cast<float>(times_.t_min + width * (end - gap));
      out->r.data_ptr<float>()[r] = static_cast<float>(times_.t_min + width * fm);
      double w = 1.0;
      if (times_.guidance_max > 1.0 && y[r] != data_.num_classes()) {
        CounterRng g_rng(seed_, tick, j, Stream::kGuidanceScale);
        w = 1.0 + (times_.guidance_max - 1.0) * g_rng.uniform();
      }
      out->w.data_ptr<float>()[r] = static_cast<float>(w);
    } else {
      double unit;  // in [0, 1]
      switch (times_.sampling) {
        case 1: unit = time_rng.uniform(); break;
        case 2: unit = sigmoid(times_.logit_mean + times_.logit_std * time_rng.normal()); break;
        default: unit = (static_cast<double>(j) + time_rng.uniform()) / static_cast<double>(global_batch);
      }
      t[r] = static_cast<float>(times_.t_min + width * unit);
    }
    if (source_) {  // x0 from the source distribution in place of the noise
      CounterRng source_rng(seed_, tick, j, Stream::kSource);
      source_->fresh(source_rng, eps + r * d);
    } else {
      CounterRng noise_rng(seed_, tick, j, Stream::kNoise);
      for (int64_t k = 0; k < d; ++k) eps[r * d + k] = static_cast<float>(noise_rng.normal());
    }
  }
}

}  // namespace lockstep
