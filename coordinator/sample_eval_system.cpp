// The sample-evaluation system of the tick loop (tick_system.h), collective: every train.sample_eval_every ticks all
// ranks draw train.sample_eval_num samples from the EMA weights and compare them with as many fresh data points
// (energy distance, MMD); with train.sample_eval_classifier each rank also scores its own chunks in the classifier's
// features (Fréchet distance, class accuracy). Rank 0 appends the result to metrics.jsonl. The weights are left as
// they were.
#include <chrono>
#include <functional>

#include "common/io/jsonl.h"
#include "coordinator/tick_system.h"
#include "evaluation/image_metrics.h"
#include "evaluation/sample_run.h"

namespace lockstep {
namespace {

class SampleEvalSystem : public TickSystem {
 public:
  explicit SampleEvalSystem(Run& run) : run_(run) {
    const std::string& classifier = run.cfg.train().sample_eval_classifier();
    if (classifier.empty()) return;
    classifier_ = std::make_unique<LoadedClassifier>(
        load_classifier(classifier, run.worker.data().item_shape(), run.worker.data().num_classes(), "train.sample_eval_classifier"));
  }
  bool due(const Tick& t) const override { return t.frame.sample_eval(); }
  void run(const Tick& t) override {
    const Config& cfg = run_.cfg;
    Worker& worker = run_.worker;
    const auto t0 = std::chrono::steady_clock::now();
    const uint64_t num = cfg.train().sample_eval_num();
    const SampleSpec spec = sample_spec(cfg, worker.data(), worker.source());
    std::unique_ptr<ImageScorer> scored;
    std::function<void(uint64_t, const torch::Tensor&)> on_chunk;
    if (classifier_) {
      if (!reference_) {  // the held-out split's statistics, computed by all ranks at the first evaluation
        std::string what;
        reference_ = score_reference(run_.comm, *classifier_->net, cfg.data(), cfg.seed(), &what);
      }
      scored = std::make_unique<ImageScorer>(*classifier_->net);
      on_chunk = [&](uint64_t first, const torch::Tensor& x) { scored->add_samples(spec, first, x); };
    }
    const SampledSet sampled = sample_from_run(run_, spec, num, on_chunk);
    if (scored) scored->reduce(run_.comm);
    const torch::Tensor data = fresh_data(worker.data(), num, cfg.sample().seed() ^ 0xE7A1DA7Aull);
    const PairSums sums = compare_distributed(run_.comm, sampled.first, data);
    if (!run_.root) return;
    std::vector<double> mmd;
    for (size_t k = 0; k < sums.bandwidths.size(); ++k) mmd.push_back(sums.mmd2_u(k));
    JsonObject o;
    o.set("tick", t.frame.tick() + 1).set("sample_energy_distance", sums.energy_distance_u()).set("sample_mmd2", mmd)
        .set("sample_mmd_bandwidths", sums.bandwidths).set("sample_nfe", sampled.nfe);
    if (scored) {
      o.set("sample_frechet_distance", frechet_distance(scored->stats, reference_->stats));
      if (spec.num_classes > 0) o.set("sample_class_accuracy", scored->counts.accuracy());
    }
    o.set("sample_eval_seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    JsonlWriter(run_.run_dir + "/metrics.jsonl").write(o);
  }

 private:
  Run& run_;
  std::unique_ptr<LoadedClassifier> classifier_;  // train.sample_eval_classifier
  std::unique_ptr<ImageScorer> reference_;        // the held-out split in its features
};

}  // namespace

std::unique_ptr<TickSystem> make_sample_eval_system(Run& run) { return std::make_unique<SampleEvalSystem>(run); }

}  // namespace lockstep
