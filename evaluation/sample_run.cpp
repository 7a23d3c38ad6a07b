#include "evaluation/sample_run.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common/data/source.h"
#include "common/metrics/energy_distance.h"
#include "common/plot/image_grid.h"
#include "common/plot/scatter.h"
#include "common/util/error.h"
#include "common/util/stop_signal.h"

namespace lockstep {

SampleSpec sample_spec(const Config& cfg, const DataSource& data, std::shared_ptr<const DataSource> source) {
  const int64_t dim = data.dim();
  SampleSpec s;
  s.sampler = cfg.sample().sampler();
  s.steps = cfg.sample().steps();
  s.seed = cfg.sample().seed();
  s.t_min = cfg.path().t_min();
  s.t_max = cfg.path().t_max();
  s.dim = dim;
  s.prediction = prediction_from_config(cfg.model().prediction());
  s.atol = cfg.sample().atol();
  s.rtol = cfg.sample().rtol();
  s.eta = cfg.sample().eta();
  s.sde_sigma = cfg.sample().sde_sigma();
  s.sde_sigma_times_beta = cfg.sample().sde_sigma_schedule() == "beta";
  s.class_label = cfg.sample().class_label();
  s.guidance = cfg.sample().guidance();
  s.num_classes = cfg.model().class_conditional() ? data.num_classes() : 0;
  s.source = source ? std::move(source) : make_source(cfg, data.item_shape());
  s.net_batch = data.item_shape().size() == 3 ? kImageNetBatch : 0;
  LS_CHECK_INPUT(s.class_label < 0 || s.num_classes > 0,
                 "sample.class_label (--class) " << s.class_label << ": the model is not class-conditional (model.class_conditional)");
  LS_CHECK_INPUT(s.class_label < s.num_classes || s.num_classes == 0,
                 "sample.class_label (--class) " << s.class_label << ": the data has classes 0 to " << s.num_classes - 1);
  return s;
}

namespace {

// Samples [begin, end) through the network in batches [k m, (k + 1) m) of the global order (m = 0: all at once), on
// the CPU; nfe: the mean network evaluations per sample.
torch::Tensor sample_batches(Net& net, const Schedule& s, const SampleSpec& spec, uint64_t begin, uint64_t end, uint64_t m, double* nfe) {
  if (m == 0 || end - begin <= m) return sample_range(net, s, spec, begin, end, nfe).to(torch::kCPU).contiguous();
  std::vector<torch::Tensor> parts;
  double total = 0.0;
  for (uint64_t b = begin; b < end; b = std::min(end, (b / m + 1) * m)) {
    const uint64_t e = std::min(end, (b / m + 1) * m);
    double n = 0.0;
    parts.push_back(sample_range(net, s, spec, b, e, &n).to(torch::kCPU));
    total += n * static_cast<double>(e - b);
  }
  *nfe = total / static_cast<double>(end - begin);
  return torch::cat(parts).contiguous();
}

}  // namespace

SampledSet sample_distributed(Comm& comm, Net& net, const Schedule& s, const SampleSpec& spec, uint64_t num, uint64_t chunk,
                              uint64_t keep, ArrayStream* out, bool progress,
                              const std::function<void(uint64_t, const torch::Tensor&)>& on_chunk, bool stop_on_signal) {
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  auto last_print = t0;
  const uint64_t world = static_cast<uint64_t>(comm.size()), rank = static_cast<uint64_t>(comm.rank());
  // Images pass through the network in batches of m aligned to multiples of m, so chunks are multiples of m too.
  const uint64_t m = spec.net_batch > 0 ? std::min<uint64_t>(spec.net_batch, std::max<uint64_t>(chunk, 1)) : 0;
  if (m > 0) chunk = std::max<uint64_t>(m, chunk / m * m);
  // fewer samples than chunk x ranks: the chunk shrinks to an even share, so that every rank has some (256 images on
  // 2 ranks are 2 chunks of 128, not one of 256 and an idle rank); sample i depends only on (seed, i), not on it
  if (world > 1) {
    const uint64_t share = (num + world - 1) / world;
    chunk = std::min<uint64_t>(chunk, m > 0 ? (share + m - 1) / m * m : share);
  }
  chunk = std::max<uint64_t>(chunk, 1);
  const uint64_t chunks = (num + chunk - 1) / chunk;
  SampledSet result;
  std::vector<torch::Tensor> kept;
  uint64_t kept_n = 0, done = 0;
  double nfe_sum = 0.0;
  for (uint64_t round = 0; round * world < chunks; ++round) {
    const uint64_t c = round * world + rank;
    std::string mine;
    if (c < chunks) {
      const uint64_t begin = c * chunk, end = std::min(num, begin + chunk);
      double nfe = 0.0;
      const torch::Tensor x = sample_batches(net, s, spec, begin, end, m, &nfe);
      if (on_chunk) on_chunk(begin, x);
      const double nfe_total = nfe * static_cast<double>(end - begin);
      mine.assign(reinterpret_cast<const char*>(&nfe_total), sizeof nfe_total);
      mine.append(static_cast<const char*>(x.data_ptr()), static_cast<size_t>(x.numel()) * sizeof(float));
    }
    const std::vector<std::string> parts = comm.gather(mine, 0);
    if (stop_on_signal) {  // every rank learns whether any rank was asked to stop
      const std::vector<std::string> signals = comm.gather(std::to_string(stop_signal()), 0);
      std::string first;
      for (const std::string& sig : signals) {
        if (first.empty() && sig != "0") first = sig;
      }
      comm.broadcast(&first, 0);
      if (!first.empty()) {
        throw Preempted(std::string(first == std::to_string(SIGTERM) ? "SIGTERM" : "SIGUSR1") + " received during the final sampling (" +
                        std::to_string(done) + " of " + std::to_string(num) + " samples): stopped; the last checkpoint holds the trained run");
      }
    }
    if (rank != 0) continue;
    for (uint64_t k = 0; k < world && round * world + k < chunks; ++k) {
      const std::string& p = parts[k];
      const uint64_t begin = (round * world + k) * chunk, n = std::min(num, begin + chunk) - begin;
      LS_CHECK(p.size() == sizeof(double) + n * static_cast<uint64_t>(spec.dim) * sizeof(float),
               "rank " << k << " sent " << p.size() << " bytes for " << n << " samples");
      double nfe_total;
      std::memcpy(&nfe_total, p.data(), sizeof nfe_total);
      nfe_sum += nfe_total;
      const float* x = reinterpret_cast<const float*>(p.data() + sizeof(double));
      if (out) out->append(x, static_cast<int64_t>(n));
      if (kept_n < keep) {
        const uint64_t take = std::min(n, keep - kept_n);
        kept.push_back(torch::from_blob(const_cast<float*>(x), {static_cast<int64_t>(take), spec.dim}, torch::kFloat32).clone());
        kept_n += take;
      }
      done += n;
    }
    const auto now = Clock::now();
    if (progress && (std::chrono::duration<double>(now - last_print).count() > 2.0 || done == num)) {
      const double secs = std::chrono::duration<double>(now - t0).count();
      const double rate = static_cast<double>(done) / std::max(secs, 1e-9);
      std::fprintf(stderr, "sampled %llu/%llu  %.0f samples/s  elapsed %.0f s  eta %.0f s\n", static_cast<unsigned long long>(done),
                   static_cast<unsigned long long>(num), rate, secs, static_cast<double>(num - done) / std::max(rate, 1e-9));
      last_print = now;
    }
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  if (rank == 0) {
    result.nfe = nfe_sum / static_cast<double>(std::max<uint64_t>(num, 1));
    result.first = kept.empty() ? torch::empty({0, spec.dim}) : torch::cat(kept, 0);
  }
  return result;
}

PairSums compare_distributed(Comm& comm, const torch::Tensor& samples, const torch::Tensor& data) {
  const int64_t n = data.size(0), d = data.size(1);
  std::string bytes;
  if (comm.rank() == 0) {
    const torch::Tensor s = samples.to(torch::kFloat32).contiguous();
    LS_CHECK(s.size(0) == n && s.size(1) == d, "compare_distributed: samples " << s.sizes() << ", data " << data.sizes());
    bytes.assign(static_cast<const char*>(s.data_ptr()), static_cast<size_t>(n * d) * sizeof(float));
  }
  comm.broadcast(&bytes, 0);
  LS_CHECK(bytes.size() == static_cast<size_t>(n * d) * sizeof(float), "compare_distributed: " << bytes.size() << " bytes of samples");
  const torch::Tensor x = torch::from_blob(bytes.data(), {n, d}, torch::kFloat32);
  PairSums sums(n, n, median_bandwidths(data));
  PairSums mine = sums;
  const int64_t begin = n * comm.rank() / comm.size(), end = n * (comm.rank() + 1) / comm.size();
  mine.add_rows(x, data, begin, end, begin, end);
  const std::vector<std::string> all = comm.gather(mine.to_bytes(), 0);
  if (comm.rank() == 0) for (const std::string& b : all) sums.merge_bytes(b);
  return sums;
}

StraightnessSums straightness_distributed(Comm& comm, Net& net, const Schedule& s, const SampleSpec& spec, uint64_t num,
                                          uint64_t chunk, int64_t steps) {
  const uint64_t w = static_cast<uint64_t>(comm.size()), r = static_cast<uint64_t>(comm.rank());
  const uint64_t begin = num * r / w, end = num * (r + 1) / w;
  const auto params = net.parameters();
  const torch::Device device = params.empty() ? torch::Device(torch::kCPU) : params.front().device();
  const uint64_t step = std::max<uint64_t>(chunk, 1);
  StraightnessSums mine;
  for (uint64_t b = begin; b < end; b += step) {
    const uint64_t e = std::min(end, b + step);
    const Guidance g{sample_labels(spec, b, e), spec.guidance, spec.num_classes};
    const Field f = velocity_field(net, s, spec.prediction, g);
    mine.add(straightness_sums(f, initial_noise(s, spec, b, e).to(device), spec.t_min, spec.t_max, steps));
  }
  StraightnessSums all;
  for (const std::string& bytes : comm.gather(mine.to_bytes(), 0)) all.merge_bytes(bytes);
  return all;
}

torch::Tensor fresh_data(const DataSource& data, uint64_t num, uint64_t seed) {
  torch::Tensor out = torch::empty({static_cast<int64_t>(num), data.dim()}, torch::kFloat32);
  float* p = out.data_ptr<float>();
  for (uint64_t i = 0; i < num; ++i) {
    CounterRng rng(seed, 0, i, Stream::kEvalData);
    (void)data.fresh(rng, p + i * data.dim());
  }
  return out;
}

SampleQuality sample_quality(const torch::Tensor& samples_in, const torch::Tensor& data_in, const torch::Tensor& fit_in, uint64_t seed) {
  // the pair sums take n^2 time: at most kQualitySamples of each set
  const int64_t n = std::min<int64_t>({samples_in.size(0), data_in.size(0), kQualitySamples});
  const torch::Tensor samples = samples_in.narrow(0, 0, n), data = data_in.narrow(0, 0, n);
  const torch::Tensor fit = fit_in.narrow(0, 0, std::min<int64_t>(fit_in.size(0), kQualitySamples));
  SampleQuality q;
  q.points = n;
  q.energy_distance = energy_distance(samples, data);
  q.gaussian_energy_distance = energy_distance(matched_gaussian(fit, n, seed), data);
  return q;
}

std::vector<int64_t> npy_shape(int64_t n, const DataSource& source) {
  std::vector<int64_t> shape = source.item_shape();
  if (shape.size() != 3) shape = {source.dim()};
  shape.insert(shape.begin(), n);
  return shape;
}

bool plot_samples(const std::string& png, const torch::Tensor& samples, const torch::Tensor* data, const DataSource& source,
                  const SampleSpec& spec) {
  const std::vector<int64_t> shape = source.item_shape();
  if (shape.size() == 3) {
    // images: with a data source each row of source images above the row of samples they were carried to, else a
    // grid with one row per class when sample i has class i mod K
    const int64_t n = samples.size(0);
    const torch::Tensor pixels =
        (spec.source ? torch::cat({samples.to(torch::kFloat32), source_draws(spec, 0, static_cast<uint64_t>(n))}) : samples).contiguous();
    ImageGrid g;
    g.pixels = pixels.data_ptr<float>();
    g.n = pixels.size(0);
    g.channels = shape[0];
    g.height = shape[1];
    g.width = shape[2];
    if (spec.source) {
      g.cols = std::max<int64_t>(1, std::min<int64_t>(n, 16));
      g.rows = 2 * ((n + g.cols - 1) / g.cols);
      for (int64_t r = 0; r < g.rows; ++r) {
        g.row_labels.push_back(r % 2 == 0 ? "source" : "sample");
        for (int64_t c = 0; c < g.cols; ++c) {
          const int64_t i = (r / 2) * g.cols + c;
          g.cells.push_back(i >= n ? -1 : r % 2 == 0 ? n + i : i);
        }
      }
    } else {
      const bool per_class = spec.num_classes > 0 && spec.class_label < 0;
      grid_layout(n, per_class ? spec.num_classes : 0, 16, &g);
      if (per_class) {
        for (int64_t r = 0; r < g.rows; ++r) g.row_labels.push_back(source.class_name(r));
      } else if (spec.class_label >= 0) {
        g.row_labels.assign(static_cast<size_t>(g.rows), source.class_name(spec.class_label));
      }
    }
    write_image_grid_png(png, g);
    return true;
  }
  if (samples.dim() != 2 || samples.size(1) != 2) return false;
  const torch::Tensor s = samples.contiguous();
  std::vector<ScatterPanel> panels = {{"samples", s.data_ptr<float>(), s.size(0), 0x1f77b4}};
  torch::Tensor d;
  if (data) {
    d = data->contiguous();
    panels.push_back({"data", d.data_ptr<float>(), d.size(0), 0xff7f0e});
  }
  write_scatter_png(png, panels, 3.0);
  return true;
}

}  // namespace lockstep
