#include "common/data/array_dataset.h"

#include <cmath>
#include <cstring>

#include "common/io/idx.h"
#include "common/io/npy.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

constexpr int64_t kMaxLabel = 65535;  // a class embedding per label value: more classes than this is a damaged file

class ArraySource : public DataSource {
 public:
  ArraySource(std::string name, std::vector<float> items, std::vector<int64_t> item_shape, std::vector<int64_t> labels, bool bytes)
      : name_(std::move(name)), items_(std::move(items)), shape_(std::move(item_shape)), labels_(std::move(labels)), bytes_(bytes) {
    dim_ = 1;
    for (int64_t s : shape_) dim_ *= s;
    for (int64_t y : labels_) classes_ = std::max(classes_, y + 1);
  }
  std::string name() const override { return name_; }
  int64_t dim() const override { return dim_; }
  std::vector<int64_t> item_shape() const override { return shape_; }
  std::string class_name(int64_t k) const override {
    static const char* const garments[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                           "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    if (name_ == "fashion_mnist" && k >= 0 && k < 10) return garments[k];
    return std::to_string(k);
  }
  uint64_t size() const override { return items_.size() / static_cast<size_t>(dim_); }
  double quantization_step() const override { return bytes_ ? 1.0 / 127.5 : 0.0; }
  int64_t num_classes() const override { return classes_; }
  int64_t item(uint64_t index, float* out) const override {
    std::memcpy(out, items_.data() + index * static_cast<uint64_t>(dim_), static_cast<size_t>(dim_) * sizeof(float));
    return labels_.empty() ? 0 : labels_[index];
  }
  int64_t fresh(CounterRng& rng, float* out) const override { return item(rng.below(size()), out); }

 private:
  std::string name_;
  std::vector<float> items_;
  std::vector<int64_t> shape_;
  std::vector<int64_t> labels_;
  bool bytes_ = false;  // uint8 items scaled to [-1, 1]
  int64_t dim_ = 1, classes_ = 1;
};

struct Loaded {
  std::vector<int64_t> shape;  // the whole array's
  std::vector<float> values;
  bool bytes = false;  // the file held uint8 values
};

// A .npy or IDX file (gzip-compressed or not), told apart by its magic number; `format` (data.name: "npy", "idx")
// names what was expected when it has neither. what: "items" or "labels", for messages.
Loaded load_array(const std::string& path, const std::string& format, bool scale_bytes, const char* what) {
  Loaded out;
  const std::string& p = path;
  const std::string bytes = read_maybe_gzip(p);
  const bool npy = bytes.size() >= 6 && bytes.compare(0, 6, "\x93NUMPY") == 0;
  LS_CHECK_INPUT(npy || format != "npy", p << ": not a .npy file (bad magic; data.name \"npy\" reads NumPy arrays, \"idx\" IDX files)");
  if (npy) {
    NpyArray a = parse_npy(bytes, p);
    out.shape = a.shape;
    out.values = std::move(a.data);
    out.bytes = a.dtype == "|u1";
    if (scale_bytes && out.bytes) for (float& v : out.values) v = v / 127.5f - 1.0f;
  } else {
    IdxArray a = parse_idx(bytes, p);
    out.shape = a.shape;
    out.values.resize(a.data.size());
    out.bytes = true;
    for (size_t i = 0; i < a.data.size(); ++i) out.values[i] = scale_bytes ? a.data[i] / 127.5f - 1.0f : a.data[i];
  }
  LS_CHECK_INPUT(!out.shape.empty() && out.shape[0] > 0, p << ": holds no " << what << " (shape " << shape_text(out.shape) << ")");
  for (size_t d = 1; d < out.shape.size(); ++d) {
    LS_CHECK_INPUT(out.shape[d] > 0, p << ": its " << what << " are empty (shape " << shape_text(out.shape) << ")");
  }
  const size_t per_item = out.values.size() / static_cast<size_t>(out.shape[0]);
  for (size_t i = 0; i < out.values.size(); ++i) {
    LS_CHECK_INPUT(std::isfinite(out.values[i]), p << ": " << (what[0] == 'i' ? "item " : "label ") << i / per_item
                                                   << " holds a non-finite value (NaN or Inf" << (out.bytes ? "" : ", or beyond float32's range")
                                                   << ") at position " << i % per_item);
  }
  return out;
}

}  // namespace

std::string fashion_mnist_file(const std::string& split, bool labels) {
  const std::string prefix = split == "test" ? "t10k" : "train";
  return "/usr/share/datasets/fashion-mnist/" + prefix + (labels ? "-labels-idx1-ubyte.gz" : "-images-idx3-ubyte.gz");
}

std::unique_ptr<DataSource> make_array_dataset(const DataConfig& cfg) {
  std::string images = cfg.images(), labels = cfg.labels();
  if (cfg.name() == "fashion_mnist") {
    images = fashion_mnist_file(cfg.split(), false);
    labels = fashion_mnist_file(cfg.split(), true);
    LS_CHECK_INPUT(is_file(images), images << ": no such file (Debian's dataset-fashion-mnist package has it; launch/setup.sh installs it)");
  }
  const std::string format = cfg.name() == "npy" ? "npy" : "idx";  // fashion_mnist: Debian's IDX files
  Loaded x = load_array(images, format, /*scale_bytes=*/true, "items");
  std::vector<int64_t> item_shape(x.shape.begin() + 1, x.shape.end());
  if (item_shape.empty()) item_shape = {1};
  if (item_shape.size() == 2) item_shape.insert(item_shape.begin(), 1);  // [H, W] images have one channel
  int64_t n = x.shape[0];
  std::vector<int64_t> y;
  if (!labels.empty()) {
    Loaded l = load_array(labels, format, /*scale_bytes=*/false, "labels");
    LS_CHECK_INPUT(l.shape[0] == n, labels << " has " << l.shape[0] << " labels, " << images << " has " << n << " items");
    LS_CHECK_INPUT(static_cast<int64_t>(l.values.size()) == n, labels << ": expected one label per item, shape has " << l.values.size() << " numbers");
    for (float v : l.values) {
      LS_CHECK_INPUT(v >= 0 && v == std::floor(v) && v <= kMaxLabel,
                     labels << ": labels must be integers in [0, " << kMaxLabel << "], found " << v << " (label " << y.size() << ")");
      y.push_back(static_cast<int64_t>(v));
    }
  }
  if (cfg.size() > 0 && static_cast<int64_t>(cfg.size()) < n) {  // keep the first data.size items
    const int64_t dim = static_cast<int64_t>(x.values.size()) / n;
    n = static_cast<int64_t>(cfg.size());
    x.values.resize(static_cast<size_t>(n * dim));
    if (!y.empty()) y.resize(static_cast<size_t>(n));
  }
  return std::make_unique<ArraySource>(cfg.name(), std::move(x.values), item_shape, std::move(y), x.bytes);
}

}  // namespace lockstep
