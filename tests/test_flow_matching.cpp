// The conditional flow matching target and loss.
#include <catch2/catch.hpp>

#include "common/loss/flow_matching.h"
#include "common/loss/losses.h"
#include "common/proto/config.pb.h"

using namespace lockstep;

namespace {

// u(x, t) = 0: the loss is then |target|^2.
class ZeroNet : public Net {
 public:
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor&, const torch::Tensor& = {}) override { return torch::zeros_like(x); }
};
}  // namespace

TEST_CASE("on the linear path the CFM target is z - eps", "[loss]") {
  torch::manual_seed(1);
  const torch::Tensor z = torch::randn({64, 2}), eps = torch::randn({64, 2}), t = torch::rand({64});
  const PathTensors p = path_tensors(*make_schedule("linear"), t);
  CHECK(torch::allclose(cfm_target(p, z, eps), z - eps, 1e-6, 1e-6));
  CHECK(torch::allclose(path_sample(p, z, eps), t.unsqueeze(1) * z + (1 - t.unsqueeze(1)) * eps, 1e-6, 1e-6));
}

TEST_CASE("the course's conditional vector field equals d_alpha z + d_beta eps on every path", "[loss]") {
  torch::manual_seed(2);
  const torch::Tensor z = torch::randn({128, 3}), eps = torch::randn({128, 3});
  const torch::Tensor t = 0.05 + 0.9 * torch::rand({128});  // away from beta = 0
  for (const std::string& name : schedule_names()) {
    const PathTensors p = path_tensors(*make_schedule(name), t);
    const torch::Tensor x = path_sample(p, z, eps);
    INFO(name);
    CHECK(torch::allclose(conditional_vector_field(p, x, z), cfm_target(p, z, eps), 1e-4, 1e-4));
  }
}

TEST_CASE("the per-sample loss is the squared norm of the residual", "[loss]") {
  torch::manual_seed(3);
  TrainBatch b{torch::randn({16, 2}), torch::randn({16, 2}), torch::rand({16})};
  ZeroNet net;
  const torch::Tensor loss = cfm_loss_per_sample(net, *make_schedule("linear"), b);
  CHECK(torch::allclose(loss, (b.z - b.eps).pow(2).sum(1), 1e-5, 1e-6));
}

TEST_CASE("per-time loss weights multiply the per-sample losses", "[loss]") {
  torch::manual_seed(4);
  TrainBatch b{torch::randn({32, 2}), torch::randn({32, 2}), 0.05 + 0.9 * torch::rand({32})};
  ZeroNet net;
  const auto s = make_schedule("vp_cosine");
  const torch::Tensor plain = loss_per_sample(net, *s, Prediction::kEpsilon, b);
  const PathTensors p = path_tensors(*s, b.t);
  const torch::Tensor snr = (p.alpha / p.beta).pow(2).squeeze(1);
  CHECK(torch::allclose(loss_per_sample(net, *s, Prediction::kEpsilon, b, {1, 5.0}), plain * snr, 1e-5, 1e-6));
  CHECK(torch::allclose(loss_per_sample(net, *s, Prediction::kEpsilon, b, {2, 5.0}), plain * snr.clamp_max(5.0), 1e-5, 1e-6));
  CHECK(torch::allclose(loss_per_sample(net, *s, Prediction::kEpsilon, b, {3, 5.0}), plain * snr.clamp_min(1.0), 1e-5, 1e-6));
  // the losses of each prediction type: DSM in its stable form, DDPM, data prediction
  CHECK(torch::allclose(plain, b.eps.pow(2).sum(1), 1e-5, 1e-6));
  CHECK(torch::allclose(loss_per_sample(net, *s, Prediction::kScore, b), b.eps.pow(2).sum(1), 1e-5, 1e-6));
  CHECK(torch::allclose(loss_per_sample(net, *s, Prediction::kX0, b), b.z.pow(2).sum(1), 1e-5, 1e-6));
}
