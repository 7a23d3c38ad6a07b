// The flat parameter buffer and the flat Adam, against LibTorch's own.
#include <catch2/catch.hpp>

#include "common/kernels/fast_paths.h"
#include "common/model/flat_params.h"
#include "common/model/mlp.h"
#include "common/optim/adam.h"
#include "common/proto/config.pb.h"

using namespace lockstep;

namespace {
std::shared_ptr<Net> small_mlp(uint64_t seed) {
  ModelConfig cfg;
  cfg.mutable_mlp()->set_width(32);
  cfg.mutable_mlp()->set_depth(2);
  cfg.mutable_mlp()->set_time_embedding(8);
  return make_net(cfg, {2}, seed);
}
torch::Tensor loss_of(Net& net, int step) {
  torch::manual_seed(100 + step);
  const torch::Tensor x = torch::randn({32, 2}), t = torch::rand({32});
  return net.forward(x, t).pow(2).sum() / 32.0;
}
}  // namespace

TEST_CASE("parameters and gradients become views of the flat buffers and backward fills them", "[model]") {
  auto net = small_mlp(5);
  auto reference = small_mlp(5);  // same initialisation, ordinary parameters
  FlatParams flat(*net);
  REQUIRE(flat.views_intact());
  REQUIRE(flat.numel() == parameter_count(*net));
  for (int step = 0; step < 2; ++step) {
    flat.zero_grad();
    reference->zero_grad();
    loss_of(*net, step).backward();
    loss_of(*reference, step).backward();
    REQUIRE(flat.views_intact());
    std::vector<torch::Tensor> grads;
    for (const auto& p : reference->parameters()) grads.push_back(p.grad().reshape({-1}));
    CHECK(torch::allclose(flat.grads(), torch::cat(grads), 1e-6, 1e-7));
  }
}

TEST_CASE("flat Adam equals torch::optim::Adam over 20 steps, in one pass and in the portable operations", "[optim]") {
  const bool initial = set_cpu_fast_paths(true);
  for (bool fast : {true, false}) {
    INFO("CPU fast paths " << fast);
    set_cpu_fast_paths(fast);
    auto net = small_mlp(9);
    auto reference = small_mlp(9);
    FlatParams flat(*net);
    OptimConfig cfg;  // defaults: beta1 0.9, beta2 0.999, eps 1e-8, no weight decay
    Adam adam(cfg, flat.numel());
    torch::optim::Adam torch_adam(reference->parameters(), torch::optim::AdamOptions(1e-2));
    for (int step = 0; step < 20; ++step) {
      flat.zero_grad();
      loss_of(*net, step).backward();
      adam.step(flat.values(), flat.grads(), 1e-2);
      torch_adam.zero_grad();
      loss_of(*reference, step).backward();
      torch_adam.step();
    }
    std::vector<torch::Tensor> values;
    for (const auto& p : reference->parameters()) values.push_back(p.detach().reshape({-1}));
    CHECK(torch::allclose(flat.values(), torch::cat(values), 1e-5, 1e-6));
    CHECK(adam.step_count() == 20);
  }
  set_cpu_fast_paths(initial);
}

TEST_CASE("decoupled weight decay equals torch::optim::AdamW", "[optim]") {
  auto net = small_mlp(11);
  auto reference = small_mlp(11);
  FlatParams flat(*net);
  OptimConfig cfg;
  cfg.set_weight_decay(0.1);
  Adam adam(cfg, flat.numel());
  torch::optim::AdamW torch_adamw(reference->parameters(), torch::optim::AdamWOptions(1e-2).weight_decay(0.1));
  for (int step = 0; step < 10; ++step) {
    flat.zero_grad();
    loss_of(*net, step).backward();
    adam.step(flat.values(), flat.grads(), 1e-2);
    torch_adamw.zero_grad();
    loss_of(*reference, step).backward();
    torch_adamw.step();
  }
  std::vector<torch::Tensor> values;
  for (const auto& p : reference->parameters()) values.push_back(p.detach().reshape({-1}));
  CHECK(torch::allclose(flat.values(), torch::cat(values), 1e-5, 1e-6));
}

TEST_CASE("Adam's fused moving average equals lerp after the step, bitwise for any thread count", "[optim]") {
  // 100,000 numbers: several chunks of the parallel loop; EMA weights from 0.9 (warm-up) down to 0.001, both of
  // torch.lerp's branches
  const int64_t n = 100000;
  torch::manual_seed(21);
  const torch::Tensor p0 = torch::randn({n}), e0 = torch::randn({n});
  OptimConfig cfg;
  auto run = [&](int threads, bool fused) {
    const int before = at::get_num_threads();
    at::set_num_threads(threads);
    Adam adam(cfg, n);
    torch::Tensor p = p0.clone(), ema = e0.clone();
    for (int step = 0; step < 12; ++step) {
      torch::manual_seed(300 + step);
      const torch::Tensor g = torch::randn({n}) * 1e-2;
      const double w = step < 6 ? 0.9 - 0.15 * step : 0.001 * step;
      if (fused) {
        adam.step(p, g, 1e-2, &ema, w);
      } else {
        adam.step(p, g, 1e-2);
        ema.lerp_(p, w);
      }
    }
    at::set_num_threads(before);
    return std::make_pair(p, ema);
  };
  const auto [p_ref, ema_ref] = run(1, false);
  const auto [p1, ema1] = run(1, true);
  const auto [p2, ema2] = run(2, true);
  CHECK(torch::equal(p1, p_ref));
  CHECK(torch::allclose(ema1, ema_ref, 1e-6, 1e-7));  // the same formula; LibTorch's lerp may contract it differently
  CHECK(torch::equal(p1, p2));
  CHECK(torch::equal(ema1, ema2));
}
