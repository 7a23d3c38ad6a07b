#include "common/data/packed_dataset.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/data/packed_file.h"
#include "common/proto/config.pb.h"
#include "common/rng/philox.h"
#include "common/util/error.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

class PackedSource : public DataSource {
 public:
  // index: the file's items this source shows, in order (empty: all of them)
  PackedSource(std::shared_ptr<const PackedFile> file, std::vector<uint64_t> index, uint64_t keep)
      : file_(std::move(file)), index_(std::move(index)) {
    size_ = index_.empty() ? file_->count() : index_.size();
    if (keep > 0) size_ = std::min(size_, keep);
    const PackedHeader& h = file_->header();
    shape_ = {static_cast<int64_t>(h.channels()), static_cast<int64_t>(h.height()), static_cast<int64_t>(h.width())};
    dim_ = static_cast<int64_t>(file_->item_size());
    classes_ = file_->labelled() ? std::max<int64_t>(1, h.class_names_size()) : 1;
    if (file_->labelled() && h.class_names_size() == 0) {
      for (uint32_t y : h.labels()) classes_ = std::max<int64_t>(classes_, static_cast<int64_t>(y) + 1);
    }
  }
  std::string name() const override { return "packed"; }
  int64_t dim() const override { return dim_; }
  std::vector<int64_t> item_shape() const override { return shape_; }
  uint64_t size() const override { return size_; }
  int64_t num_classes() const override { return classes_; }
  std::string class_name(int64_t k) const override {
    const PackedHeader& h = file_->header();
    return k >= 0 && k < h.class_names_size() ? h.class_names(static_cast<int>(k)) : std::to_string(k);
  }
  double quantization_step() const override { return 1.0 / 127.5; }
  int64_t item(uint64_t index, float* out) const override {
    const uint64_t i = at(index);
    thread_local std::vector<uint8_t> bytes;
    bytes.resize(static_cast<size_t>(dim_));
    file_->read(i, bytes.data());
    for (int64_t k = 0; k < dim_; ++k) out[k] = byte_value(bytes[static_cast<size_t>(k)]);
    return file_->label(i);
  }
  bool has_bytes() const override { return true; }
  int64_t item_bytes(uint64_t index, uint8_t* out) const override {
    const uint64_t i = at(index);
    file_->read(i, out);
    return file_->label(i);
  }
  int64_t label(uint64_t index) const override { return file_->label(at(index)); }
  int64_t fresh(CounterRng& rng, float* out) const override { return item(rng.below(size_), out); }
  void check_unchanged() const override { file_->check_unchanged(); }

 private:
  uint64_t at(uint64_t index) const {
    LS_CHECK(index < size_, "packed item " << index << " of " << size_);
    return index_.empty() ? index : index_[index];
  }
  std::shared_ptr<const PackedFile> file_;
  std::vector<uint64_t> index_;
  uint64_t size_ = 0;
  std::vector<int64_t> shape_;
  int64_t dim_ = 1, classes_ = 1;
};

// data.holdout: the items held out (held_out true) or kept, in file order; round(n x fraction) of them held out,
// chosen by keys from a generator keyed by n alone.
std::vector<uint64_t> split_items(uint64_t n, double fraction, bool held_out) {
  const uint64_t held = static_cast<uint64_t>(std::llround(static_cast<double>(n) * fraction));
  std::vector<std::pair<uint64_t, uint64_t>> keyed(n);
  for (uint64_t i = 0; i < n; ++i) {
    CounterRng rng(0x5EEDC0DEull ^ n, 0, i, Stream::kPermutation);
    keyed[i] = {rng.next_u64(), i};
  }
  std::nth_element(keyed.begin(), keyed.begin() + static_cast<std::ptrdiff_t>(held), keyed.end());
  std::vector<uint64_t> out;
  for (uint64_t k = held_out ? 0 : held; k < (held_out ? held : n); ++k) out.push_back(keyed[k].second);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::unique_ptr<DataSource> make_packed_dataset(const DataConfig& cfg, bool held_out) {
  LS_CHECK_INPUT(!cfg.path().empty(), "data.path: data \"packed\" needs the packed file (make one with `lockstep data pack`)");
  if (held_out && !cfg.eval_path().empty()) {
    auto eval = std::make_shared<const PackedFile>(cfg.eval_path());
    return std::make_unique<PackedSource>(std::move(eval), std::vector<uint64_t>{}, 0);
  }
  auto file = std::make_shared<const PackedFile>(cfg.path());
  if (cfg.holdout() > 0) {
    std::vector<uint64_t> index = split_items(file->count(), cfg.holdout(), held_out);
    LS_CHECK_INPUT(!index.empty(), clip(cfg.path(), 300) << ": data.holdout " << cfg.holdout() << " of its " << file->count() << " items leaves "
                                                         << (held_out ? "no held-out item" : "no training item"));
    return std::make_unique<PackedSource>(std::move(file), std::move(index), held_out ? 0 : cfg.size());
  }
  if (held_out) return nullptr;
  return std::make_unique<PackedSource>(std::move(file), std::vector<uint64_t>{}, cfg.size());
}

}  // namespace lockstep
