// Image metrics in the feature space of a Lockstep-trained classifier (model "classifier"), computed by all
// ranks together: the Fréchet distance between the feature Gaussians of two image sets, and how often the
// classifier finds the wanted class (its test accuracy; the class accuracy of class-conditional samples).
//
// Contract: an ImageScorer accumulates, for the rows it is given, the classifier's feature statistics and, when
// the wanted labels are given, per-class counts of agreement. Each rank adds its own rows (its chunks of
// samples, its slice of a data set); reduce() is collective and leaves the sum over ranks on rank 0, equal for
// any world size up to float64 rounding. The classifier runs in float32 without gradients, 512 rows at a time, on
// the device of its parameters.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>

#include "common/comm/comm.h"
#include "common/data/dataset.h"
#include "common/metrics/class_counts.h"
#include "common/metrics/frechet.h"
#include "common/model/classifier.h"
#include "common/sampler/ode.h"

namespace lockstep {

class ImageScorer {
 public:
  explicit ImageScorer(Classifier& classifier);
  // Rows x [n, C*H*W]; wanted [n] int64 labels, or undefined (features only).
  void add(const torch::Tensor& x, const torch::Tensor& wanted);
  // Samples [first, first + n) drawn with `spec`: wanted labels are the classes they were drawn for
  // (sample_labels), none for an unconditional model.
  void add_samples(const SampleSpec& spec, uint64_t first, const torch::Tensor& x);
  // Items [begin, end) of a finite data set with their labels.
  void add_items(const DataSource& data, uint64_t begin, uint64_t end);
  // Collective: rank 0 holds the sums over all ranks afterwards.
  void reduce(Comm& comm);

  FeatureStats stats;
  ClassCounts counts;
  double cross_entropy_sum = 0.0;  // of the rows with wanted labels
  double mean_cross_entropy() const { return cross_entropy_sum / static_cast<double>(counts.rows()); }

 private:
  Classifier& classifier_;
  torch::Device device_;  // where the classifier's parameters are (rows are moved there)
};

// All ranks: every item of the reference set of a data config through the classifier, each rank its slice; the
// reference set is the held-out split (make_eval_dataset: Fashion-MNIST's other split, data.eval_images), or the
// training items when there is none. `what` names it ("test split (10000 items)").
std::unique_ptr<ImageScorer> score_reference(Comm& comm, Classifier& classifier, const DataConfig& data, uint64_t seed,
                                             std::string* what);

// A trained classifier from a checkpoint file or run directory (its EMA weights when it has them), for items of
// `item_shape` with at least `num_classes` classes; its own class count comes from the checkpoint's output layer,
// so its data set is not read. Throws BadInput naming `what` and `path` when it is not a classifier or does not fit.
struct LoadedClassifier {
  std::shared_ptr<Classifier> net;
  std::string path;
};
LoadedClassifier load_classifier(const std::string& path, const std::vector<int64_t>& item_shape, int64_t num_classes,
                                 const std::string& what);

// This rank's part [begin, end) of n rows split evenly over the ranks.
inline std::pair<uint64_t, uint64_t> rank_rows(uint64_t n, int rank, int size) {
  return {n * static_cast<uint64_t>(rank) / static_cast<uint64_t>(size), n * static_cast<uint64_t>(rank + 1) / static_cast<uint64_t>(size)};
}

}  // namespace lockstep
