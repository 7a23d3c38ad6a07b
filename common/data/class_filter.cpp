#include "common/data/class_filter.h"

#include <algorithm>

#include "common/util/error.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

constexpr int kMaxTries = 10000;

std::string list_text(const std::vector<int64_t>& v) {
  std::vector<std::string> parts;
  for (const int64_t k : v) parts.push_back(std::to_string(k));
  return "[" + join(parts) + "]";
}

class ClassFilter : public DataSource {
 public:
  ClassFilter(std::unique_ptr<DataSource> inner, std::vector<int64_t> classes) : inner_(std::move(inner)), classes_(std::move(classes)) {
    for (uint64_t i = 0; i < inner_->size(); ++i)
      if (wanted(inner_->label(i))) index_.push_back(i);
  }
  std::string name() const override { return inner_->name(); }
  int64_t dim() const override { return inner_->dim(); }
  std::vector<int64_t> item_shape() const override { return inner_->item_shape(); }
  uint64_t size() const override { return index_.size(); }
  int64_t num_classes() const override { return inner_->num_classes(); }
  std::string class_name(int64_t k) const override { return inner_->class_name(k); }
  double quantization_step() const override { return inner_->quantization_step(); }
  int64_t label(uint64_t index) const override { return inner_->label(index_.at(index)); }
  void check_unchanged() const override { inner_->check_unchanged(); }
  bool has_bytes() const override { return inner_->has_bytes(); }
  int64_t item_bytes(uint64_t index, uint8_t* out) const override { return inner_->item_bytes(index_.at(index), out); }
  int64_t item(uint64_t index, float* out) const override {
    LS_CHECK(index < index_.size(), "ClassFilter::item: " << index << " of " << index_.size());
    return inner_->item(index_[index], out);
  }
  int64_t fresh(CounterRng& rng, float* out) const override {
    if (inner_->size() > 0) return item(rng.below(index_.size()), out);
    for (int k = 0; k < kMaxTries; ++k) {
      const int64_t label = inner_->fresh(rng, out);
      if (wanted(label)) return label;
    }
    LS_CHECK_INPUT(false, "classes " << list_text(classes_) << ": no draw of " << inner_->name() << " out of " << kMaxTries << " has one of them");
    return 0;
  }
  bool wanted(int64_t label) const { return std::find(classes_.begin(), classes_.end(), label) != classes_.end(); }
  bool infinite() const { return inner_->size() == 0; }

 private:
  std::unique_ptr<DataSource> inner_;
  std::vector<int64_t> classes_;
  std::vector<uint64_t> index_;
};

}  // namespace

std::unique_ptr<DataSource> filter_classes(std::unique_ptr<DataSource> inner, const std::vector<int64_t>& classes) {
  for (const int64_t k : classes) {
    LS_CHECK_INPUT(inner->num_classes() > 1 || k == 0, "classes " << list_text(classes) << ": " << inner->name() << " has no class labels (one class, 0)");
    LS_CHECK_INPUT(k >= 0 && k < inner->num_classes(), "classes " << list_text(classes) << ": " << inner->name() << " has classes 0 .. "
                                                                 << inner->num_classes() - 1 << ", not " << k);
  }
  auto f = std::make_unique<ClassFilter>(std::move(inner), classes);
  if (f->infinite()) {  // one fixed generator must find a point of the classes
    CounterRng rng(0, 0, 0, Stream::kDataIndex);
    std::vector<float> buf(static_cast<size_t>(f->dim()));
    (void)f->fresh(rng, buf.data());
  } else {
    LS_CHECK_INPUT(f->size() > 0, "classes " << list_text(classes) << ": no item of " << f->name() << " has one of them (in the training items, or in the held-out split when data.eval_images or Fashion-MNIST's other split is read)");
  }
  return f;
}

}  // namespace lockstep
