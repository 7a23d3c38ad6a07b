// Generating samples with a trained network, and the outputs that go with them.
//
// Contract: sample_distributed() produces samples [0, num) in chunks of sample.chunk (smaller for a small request
// on several ranks), shared among the ranks of a job; sample i depends only on (sample seed, i)
// (common/sampler/ode.h). fresh_data() draws num points of the data distribution from (seed, i) on a stream of its
// own. compare_distributed() measures samples against data with every rank; plot_samples() draws them
// (2-D data: scatter; images: a grid).
#pragma once

#include <torch/torch.h>

#include <functional>
#include <string>

#include "common/checkpoint/checkpoint.h"
#include "common/comm/comm.h"
#include "common/io/npy_stream.h"
#include "common/metrics/pair_sums.h"
#include "common/metrics/straightness.h"
#include "common/data/dataset.h"
#include "common/model/net.h"
#include "common/path/schedule.h"
#include "common/proto/config.pb.h"
#include "common/sampler/ode.h"

namespace lockstep {

// The sampling settings of a config (sample section, path, prediction, classes). Throws BadInput for a class the
// model does not have.
// `source`: the config's source distribution when the caller already holds it (the worker's), else built here.
SampleSpec sample_spec(const Config& cfg, const DataSource& data, std::shared_ptr<const DataSource> source = nullptr);
// The network batch of image samples (SampleSpec::net_batch).
constexpr uint64_t kImageNetBatch = 64;

// All ranks together (collective). Chunk c covers samples [c * chunk, (c + 1) * chunk); in round q, rank k
// computes chunk q * W + k. On W > 1 ranks the chunk is at most ceil(num / W), so that a small request still
// reaches every rank. Sample i depends only on (seed, i): the MLP's samples are bitwise the same on 1 or many ranks;
// images go through the network in batches of spec.net_batch aligned in the global order (chunks are multiples of
// it), so that each sample's batch is the same on any number of ranks and so are its bits (both tested; a U-Net's
// convolutions round differently with the batch size). Rank 0 gathers each round and appends the chunks in order to `out` (when
// given: streamed, never all in memory) and keeps the first `keep` samples; with `progress` it prints
// samples/s and an ETA on stderr. `on_chunk`, when given, sees every chunk on the rank that computed it (its first
// sample's index and the samples [n, d]), before the gather: per-rank metrics of the samples cost no transfer.
// With `stop_on_signal` (the end of training, where stop signals are caught: common/util/stop_signal.h) the ranks
// agree after every round whether one of them received SIGTERM or SIGUSR1, and then all throw Preempted.
struct SampledSet {
  torch::Tensor first;  // rank 0: samples [0, min(keep, num)) as [n, d]; undefined elsewhere
  double nfe = 0.0;     // network evaluations per sample (mean)
  double seconds = 0.0;
};
SampledSet sample_distributed(Comm& comm, Net& net, const Schedule& s, const SampleSpec& spec, uint64_t num, uint64_t chunk,
                              uint64_t keep, ArrayStream* out, bool progress,
                              const std::function<void(uint64_t, const torch::Tensor&)>& on_chunk = {}, bool stop_on_signal = false);
// All ranks together: rank 0's `samples` [n, d] against `data` [n, d] (the same on every rank): each rank adds the
// pair sums of its rows, rank 0 merges them (the result is meaningful on rank 0 only). Bandwidths follow the data.
PairSums compare_distributed(Comm& comm, const torch::Tensor& samples, const torch::Tensor& data);

// All ranks together: the straightness of the sampling ODE's trajectories (common/metrics/straightness.h) for samples
// [0, num) of `spec` (their initial points and classes, guidance included), Euler with `steps` steps. Rank k takes
// rows [num k / W, num (k + 1) / W) in chunks of `chunk`; the sums are merged at rank 0 (meaningful there only).
StraightnessSums straightness_distributed(Comm& comm, Net& net, const Schedule& s, const SampleSpec& spec, uint64_t num,
                                          uint64_t chunk, int64_t steps);

torch::Tensor fresh_data(const DataSource& data, uint64_t num, uint64_t seed);

struct SampleQuality {
  double energy_distance = 0.0;           // samples vs data
  double gaussian_energy_distance = 0.0;  // N(mean(fit), cov(fit)) vs data: the baseline to beat
  int64_t points = 0;                     // the points of each set compared
};
// The Gaussian baseline is fitted to `fit`, points of the data distribution apart from `data` (a Gaussian
// fitted to `data` itself lies in the span of those very points, which flatters it in high dimensions). Both
// distances use the first min(n, kQualitySamples) points of each set: their pair sums take n^2 time.
constexpr int64_t kQualitySamples = 50000;
SampleQuality sample_quality(const torch::Tensor& samples, const torch::Tensor& data, const torch::Tensor& fit, uint64_t seed);

// The shape of an array of n items of `source` as written to .npy: [n, d] for points, [n, C, H, W] for images.
std::vector<int64_t> npy_shape(int64_t n, const DataSource& source);

// Writes the picture of samples to `png`: a grid of images (one row per class when sample i has class i mod K,
// rows labelled with the class names; with a data source, each row of source images above the row of samples they
// were carried to), or a 2-D scatter plot of samples (and data, when given). Returns false,
// writing nothing, for other data.
bool plot_samples(const std::string& png, const torch::Tensor& samples, const torch::Tensor* data, const DataSource& source,
                  const SampleSpec& spec);

}  // namespace lockstep
