// The flat parameter buffer and the flat Adam, against LibTorch's own.
#include <catch2/catch.hpp>

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

TEST_CASE("flat Adam equals torch::optim::Adam over 20 steps", "[optim]") {
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
