#include "evaluation/image_metrics.h"

#include <cstring>

#include "common/checkpoint/checkpoint.h"
#include "common/config/config.h"
#include "common/model/flat_params.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"

namespace lockstep {

ImageScorer::ImageScorer(Classifier& classifier)
    : stats(classifier.feature_size()), counts(classifier.num_classes()), classifier_(classifier),
      device_(classifier.parameters().front().device()) {}

void ImageScorer::add(const torch::Tensor& x, const torch::Tensor& wanted) {
  torch::NoGradGuard no_grad;
  const int64_t n = x.size(0), block = 512;
  for (int64_t b = 0; b < n; b += block) {
    const int64_t m = std::min(block, n - b);
    const torch::Tensor f = classifier_.features(x.narrow(0, b, m).to(device_, torch::kFloat32));
    stats.add(f);
    if (!wanted.defined()) continue;
    const torch::Tensor logits = classifier_.logits_from_features(f);
    const torch::Tensor w = wanted.narrow(0, b, m).to(device_, torch::kInt64);
    counts.add(logits.argmax(1), w);
    cross_entropy_sum += torch::nn::functional::cross_entropy(logits, w, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                             .item<double>();
  }
}

void ImageScorer::add_samples(const SampleSpec& spec, uint64_t first, const torch::Tensor& x) {
  add(x, spec.num_classes > 0 ? sample_labels(spec, first, first + static_cast<uint64_t>(x.size(0))) : torch::Tensor());
}

void ImageScorer::add_items(const DataSource& data, uint64_t begin, uint64_t end) {
  const int64_t d = data.dim();
  const uint64_t block = 2048;
  for (uint64_t b = begin; b < end; b += block) {
    const int64_t m = static_cast<int64_t>(std::min(end, b + block) - b);
    torch::Tensor x = torch::empty({m, d}, torch::kFloat32), y = torch::empty({m}, torch::kInt64);
    int64_t* labels = y.data_ptr<int64_t>();
    for (int64_t i = 0; i < m; ++i) labels[i] = data.item(b + static_cast<uint64_t>(i), x.data_ptr<float>() + i * d);
    add(x, y);
  }
}

void ImageScorer::reduce(Comm& comm) {
  const std::string stat_bytes = stats.to_bytes(), count_bytes = counts.to_bytes();
  const size_t s = stat_bytes.size(), c = count_bytes.size();
  std::string mine = stat_bytes + count_bytes;
  mine.append(reinterpret_cast<const char*>(&cross_entropy_sum), sizeof(double));
  const std::vector<std::string> all = comm.gather(mine, 0);
  if (comm.rank() != 0) return;
  FeatureStats total(stats.sum.size(0));
  ClassCounts total_counts(static_cast<int64_t>(counts.total.size()));
  double ce = 0.0;
  for (const std::string& b : all) {
    LS_CHECK(b.size() == s + c + sizeof(double), "ImageScorer::reduce: " << b.size() << " bytes, expected " << s + c + sizeof(double));
    total.merge_bytes(b.substr(0, s));
    total_counts.merge_bytes(b.substr(s, c));
    double v;
    std::memcpy(&v, b.data() + s + c, sizeof v);
    ce += v;
  }
  stats = total;
  counts = total_counts;
  cross_entropy_sum = ce;
}

LoadedClassifier load_classifier(const std::string& path, const std::vector<int64_t>& item_shape, int64_t num_classes,
                                 const std::string& what) {
  LoadedClassifier out;
  out.path = resolve_checkpoint(path);
  const CheckpointData ckpt = load_checkpoint(out.path);
  const Config cfg = parse_config_text(ckpt.config_text, out.path + " (stored config)");
  LS_CHECK_INPUT(cfg.model().name() == "classifier", what << " " << path << ": model '" << cfg.model().name()
                                                          << "' is not a classifier (train one with configs/fashion_mnist_classifier.textproto)");
  int64_t classes = 0;  // the output layer's rows
  for (const ParamSpan& p : ckpt.params)
    if (p.name == "out.weight" && p.shape.size() == 2) classes = p.shape[0];
  LS_CHECK_INPUT(classes >= num_classes,
                 what << " " << path << ": tells " << classes << " classes apart, the data has " << num_classes);
  // Built for the caller's items: the stored parameters fit only if the classifier was trained on items of that shape.
  std::shared_ptr<Net> net;
  try {
    net = make_net(cfg.model(), item_shape, 0, classes);
  } catch (const BadInput&) {
    net = nullptr;
  }
  std::unique_ptr<FlatParams> params = net ? std::make_unique<FlatParams>(*net) : nullptr;
  bool fits = params && params->spans().size() == ckpt.params.size();
  for (size_t i = 0; fits && i < ckpt.params.size(); ++i) fits = params->spans()[i].shape == ckpt.params[i].shape;
  LS_CHECK_INPUT(fits, what << " " << path << ": classifies items of another shape than the data's");
  load_params(*params, ckpt, out.path, cfg.sample().use_ema() && has_payload(ckpt, "ema") ? "ema" : "params");
  out.net = std::dynamic_pointer_cast<Classifier>(net);
  LS_CHECK(out.net, "load_classifier: model classifier built another network");
  return out;
}

std::unique_ptr<ImageScorer> score_reference(Comm& comm, Classifier& classifier, const DataConfig& data, uint64_t seed,
                                             std::string* what) {
  std::unique_ptr<DataSource> ref = make_eval_dataset(data, seed);
  const bool split = ref != nullptr;
  if (!ref) ref = make_dataset(data, seed);
  LS_CHECK_INPUT(ref->size() > 0, "data " << ref->name() << ": the image metrics need a finite data set");
  LS_CHECK_INPUT(ref->item_shape() == classifier.input_shape(), "data " << ref->name() << ": its items have another shape than the classifier's input");
  LS_CHECK_INPUT(ref->num_classes() <= classifier.num_classes(), "data " << ref->name() << ": has " << ref->num_classes()
                                                                      << " classes, the classifier tells " << classifier.num_classes() << " apart");
  auto scorer = std::make_unique<ImageScorer>(classifier);
  const auto [begin, end] = rank_rows(ref->size(), comm.rank(), comm.size());
  scorer->add_items(*ref, begin, end);
  scorer->reduce(comm);
  *what = std::string(split ? "held-out split" : "training items") + " (" + std::to_string(ref->size()) + " items)";
  return scorer;
}

}  // namespace lockstep
