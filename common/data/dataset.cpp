#include "common/data/dataset.h"

#include "common/data/array_dataset.h"
#include "common/data/class_filter.h"
#include "common/data/packed_dataset.h"
#include "common/data/toy2d.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"
#include "common/util/strings.h"

#include <vector>

namespace lockstep {
namespace {

class ToySource : public DataSource {
 public:
  ToySource(std::string name, uint64_t size, uint64_t seed) : name_(std::move(name)), size_(size), seed_(seed) {}
  std::string name() const override { return name_; }
  int64_t dim() const override { return 2; }
  uint64_t size() const override { return size_; }
  int64_t num_classes() const override { return toy_classes(name_); }
  int64_t item(uint64_t index, float* out) const override {
    CounterRng rng(seed_, 0, index, Stream::kDataIndex);
    return toy_point(name_, rng, out);
  }
  int64_t fresh(CounterRng& rng, float* out) const override { return toy_point(name_, rng, out); }

 private:
  std::string name_;
  uint64_t size_, seed_;
};

// weight * N(mean, std^2 I) components; item i of a finite set is a fresh draw keyed by (seed, i).
class MixtureSource : public DataSource {
 public:
  MixtureSource(const DataConfig& cfg, uint64_t seed) : size_(cfg.size()), seed_(seed) {
    double total = 0;
    for (const MixtureComponent& c : cfg.mixture()) total += c.weight();
    double cumulative = 0;
    for (const MixtureComponent& c : cfg.mixture()) {
      cumulative += c.weight() / total;
      cdf_.push_back(cumulative);
      means_.emplace_back(c.mean().begin(), c.mean().end());
      stds_.push_back(c.std());
    }
  }
  std::string name() const override { return "gaussian_mixture"; }
  int64_t dim() const override { return static_cast<int64_t>(means_.front().size()); }
  uint64_t size() const override { return size_; }
  int64_t num_classes() const override { return static_cast<int64_t>(cdf_.size()); }
  int64_t item(uint64_t index, float* out) const override {
    CounterRng rng(seed_, 0, index, Stream::kDataIndex);
    return fresh(rng, out);
  }
  int64_t fresh(CounterRng& rng, float* out) const override {
    const double u = rng.uniform();
    size_t k = 0;
    while (k + 1 < cdf_.size() && u > cdf_[k]) ++k;
    for (size_t d = 0; d < means_[k].size(); ++d) out[d] = static_cast<float>(means_[k][d] + stds_[k] * rng.normal());
    return static_cast<int64_t>(k);
  }

 private:
  uint64_t size_, seed_;
  std::vector<double> cdf_, stds_;
  std::vector<std::vector<double>> means_;
};

std::unique_ptr<DataSource> filtered(const DataConfig& cfg, std::unique_ptr<DataSource> d) {
  if (!d || (cfg.classes_size() == 0 && cfg.class_names_size() == 0)) return d;
  std::vector<int64_t> classes(cfg.classes().begin(), cfg.classes().end());
  for (const std::string& name : cfg.class_names()) classes.push_back(find_class(*d, name, "data.class_names"));
  return filter_classes(std::move(d), classes);
}

std::unique_ptr<DataSource> make_unfiltered(const DataConfig& cfg, uint64_t seed) {
  if (cfg.name() == "fashion_mnist" || cfg.name() == "idx" || cfg.name() == "npy") return make_array_dataset(cfg);
  if (cfg.name() == "packed") return make_packed_dataset(cfg, false);
  if (cfg.name() == "gaussian_mixture") return std::make_unique<MixtureSource>(cfg, seed ^ 0x9E3779B97F4A7C15ull);
  return std::make_unique<ToySource>(cfg.name(), cfg.size(), seed ^ 0x9E3779B97F4A7C15ull);
}

std::unique_ptr<DataSource> make_unfiltered_eval(const DataConfig& cfg, uint64_t seed) {
  (void)seed;
  if (cfg.name() == "packed") return make_packed_dataset(cfg, true);
  if (cfg.name() == "fashion_mnist") {
    DataConfig other = cfg;
    other.set_split(cfg.split() == "test" ? "train" : "test");
    other.set_size(0);
    return make_array_dataset(other);
  }
  if ((cfg.name() == "idx" || cfg.name() == "npy") && cfg.has_eval_images()) {
    DataConfig held = cfg;
    held.set_images(cfg.eval_images());
    held.set_labels(cfg.eval_labels());
    held.set_size(0);
    return make_array_dataset(held);
  }
  return nullptr;
}

}  // namespace

int64_t find_class(const DataSource& data, const std::string& text, const std::string& what) {
  uint64_t k = 0;
  if (parse_decimal(text, &k)) {
    LS_CHECK_INPUT(k < static_cast<uint64_t>(data.num_classes()), what << " " << k << ": " << data.name() << " has classes 0 to " << data.num_classes() - 1);
    return static_cast<int64_t>(k);
  }
  const auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::vector<std::string> names;
  for (int64_t c = 0; c < data.num_classes(); ++c) {
    if (lower(data.class_name(c)) == lower(text)) return c;
    if (names.size() < 20) names.push_back(data.class_name(c));
  }
  throw BadInput(what + " " + clip(text, 100) + ": no class of that index or name in " + data.name() + "; its classes are " + join(names) +
                 (data.num_classes() > 20 ? ", ..." : ""));
}

int64_t DataSource::label(uint64_t index) const {
  std::vector<float> buf(static_cast<size_t>(dim()));
  return item(index, buf.data());
}

int64_t DataSource::item_bytes(uint64_t, uint8_t*) const { throw InternalError(name() + " holds no uint8 items"); }

std::unique_ptr<DataSource> make_dataset(const DataConfig& cfg, uint64_t seed) { return filtered(cfg, make_unfiltered(cfg, seed)); }

std::unique_ptr<DataSource> make_eval_dataset(const DataConfig& cfg, uint64_t seed) { return filtered(cfg, make_unfiltered_eval(cfg, seed)); }

}  // namespace lockstep
