#include "common/data/dataset.h"

#include "common/data/toy2d.h"
#include "common/proto/config.pb.h"

namespace lockstep {
namespace {

class ToySource : public DataSource {
 public:
  ToySource(std::string name, uint64_t size, uint64_t seed) : name_(std::move(name)), size_(size), seed_(seed) {}
  std::string name() const override { return name_; }
  int64_t dim() const override { return 2; }
  uint64_t size() const override { return size_; }
  void item(uint64_t index, float* out) const override {
    CounterRng rng(seed_, 0, index, Stream::kDataIndex);
    toy_point(name_, rng, out);
  }
  void fresh(CounterRng& rng, float* out) const override { toy_point(name_, rng, out); }

 private:
  std::string name_;
  uint64_t size_, seed_;
};

}  // namespace

std::unique_ptr<DataSource> make_dataset(const DataConfig& cfg, uint64_t seed) {
  return std::make_unique<ToySource>(cfg.name(), cfg.size(), seed ^ 0x9E3779B97F4A7C15ull);
}

}  // namespace lockstep
