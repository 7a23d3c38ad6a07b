#include <mutex>

#include "common/data/dataset.h"
#include "common/model/classifier.h"
#include "common/model/mlp.h"
#include "common/model/oracle.h"
#include "common/model/unet.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"

namespace lockstep {

std::shared_ptr<Net> make_net(const ModelConfig& cfg, const std::vector<int64_t>& item_shape, uint64_t init_seed,
                              int64_t num_classes) {
  // torch's initialisers draw from the global CPU generator: seed it and build, under a lock so that
  // thread-ranks (the local backend) do not interleave. The training randomness is counter-based and does
  // not use this generator.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  torch::manual_seed(init_seed);
  if (cfg.name() == "mlp") {
    int64_t dim = 1;
    for (int64_t s : item_shape) dim *= s;
    return std::make_shared<Mlp>(cfg.mlp(), dim, num_classes);
  }
  if (cfg.name() == "unet") return std::make_shared<Unet>(cfg.unet(), item_shape, num_classes);
  if (cfg.name() == "classifier") return std::make_shared<Classifier>(cfg.classifier(), item_shape, num_classes);
  if (cfg.name() == "oracle") throw BadInput("model 'oracle' has no parameters to train; sample it with `lockstep sample CONFIG`");
  throw InternalError("make_net: unknown model '" + cfg.name() + "' (config validation should have refused it)");
}

std::shared_ptr<Net> make_model(const Config& cfg, const DataSource& data, uint64_t init_seed) {
  if (cfg.model().name() == "oracle") return std::make_shared<Oracle>(cfg, data);
  const bool labelled = cfg.model().class_conditional() || cfg.model().name() == "classifier";
  return make_net(cfg.model(), data.item_shape(), init_seed, labelled ? data.num_classes() : 0);
}

int64_t parameter_count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const torch::Tensor& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace lockstep
