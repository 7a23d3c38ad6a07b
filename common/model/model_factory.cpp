#include <mutex>

#include "common/model/mlp.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"

namespace lockstep {

std::shared_ptr<Net> make_net(const ModelConfig& cfg, int64_t dim, uint64_t init_seed) {
  // torch's initialisers draw from the global CPU generator: seed it and build, under a lock so that
  // thread-ranks (the local backend) do not interleave. The training randomness is counter-based and does
  // not use this generator.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  torch::manual_seed(init_seed);
  if (cfg.name() == "mlp") return std::make_shared<Mlp>(cfg.mlp(), dim);
  throw InternalError("make_net: unknown model '" + cfg.name() + "' (config validation should have refused it)");
}

int64_t parameter_count(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const torch::Tensor& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace lockstep
