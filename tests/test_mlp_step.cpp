// The fused MLP training step against autograd: same per-slice loss and gradients, every parameter reported
// ready once; and a training run with the fused step against one with engine.fused_mlp: false.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "common/data/batch.h"
#include "common/data/dataset.h"
#include "common/loss/losses.h"
#include "common/model/flat_params.h"
#include "common/model/mlp.h"
#include "common/model/mlp_step.h"
#include "common/path/schedule.h"
#include "common/proto/config.pb.h"
#include "tests/proc.h"

using namespace lockstep;
using namespace lockstep::test;

TEST_CASE("the fused MLP step gives the loss and gradients of autograd", "[model][fused]") {
  struct Case {
    uint32_t width, depth;
    const char* path;
    int64_t n, global, dim;
  };
  // 2-D data: the output layer folded into the last SiLU passes (mlp_out.h); 20-D data: an ordinary product.
  // 3,000 rows: the forward products take transposed weights.
  for (const Case& c : {Case{64, 3, "linear", 512, 512, 2}, Case{32, 1, "vp_cosine", 100, 300, 2}, Case{256, 2, "linear", 7, 64, 2},
                        Case{256, 3, "linear", 3000, 4096, 2}, Case{64, 2, "linear", 300, 300, 20}}) {
    INFO("width " << c.width << " depth " << c.depth << " path " << c.path << " rows " << c.n << " dim " << c.dim);
    ModelConfig m;
    m.mutable_mlp()->set_width(c.width);
    m.mutable_mlp()->set_depth(c.depth);
    std::shared_ptr<Net> net = make_net(m, {c.dim}, 7);
    FlatParams flat(*net);
    PathConfig pc;
    pc.set_name(c.path);
    if (std::string(c.path) == "vp_cosine") pc.set_t_min(1e-3);
    const auto schedule = make_schedule(pc);
    DataConfig dc;
    if (c.dim != 2) {  // a Gaussian in c.dim dimensions
      dc.set_name("gaussian_mixture");
      auto* component = dc.add_mixture();
      for (int64_t k = 0; k < c.dim; ++k) component->add_mean(0.1 * static_cast<double>(k));
    }
    const auto data = make_dataset(dc, 1);
    BatchMaker maker(*data, 3, TimeSpec{pc.t_min(), pc.t_max()});
    TrainBatch b;
    maker.make(5, static_cast<uint64_t>(c.global), 0, static_cast<uint64_t>(c.n), &b);

    flat.zero_grad();
    const torch::Tensor sum = loss_per_sample(*net, *schedule, Prediction::kVelocity, b).sum();
    (sum / static_cast<double>(c.global)).backward();
    const torch::Tensor reference = flat.grads().clone();
    const double reference_loss = sum.item<double>();

    flat.grads().fill_(std::numeric_limits<float>::quiet_NaN());  // written, not added: no zeroing needed
    MlpStep step(dynamic_cast<Mlp&>(*net), *schedule);
    std::vector<int> ready(net->parameters().size(), 0);
    const double loss = step.run(b, c.global, [&](size_t p) { ++ready.at(p); }, nullptr, nullptr);
    CHECK(loss == Approx(reference_loss).epsilon(1e-5));
    const double scale = reference.abs().max().item<double>();
    CHECK((flat.grads() - reference).abs().max().item<double>() < 1e-5 * scale);
    for (int r : ready) CHECK(r == 1);
    // a second call reuses its buffers and gives the same numbers
    flat.grads().fill_(std::numeric_limits<float>::quiet_NaN());
    CHECK(step.run(b, c.global, {}, nullptr, nullptr) == loss);
  }
}

TEST_CASE("training with the fused MLP step follows training with autograd", "[model][fused]") {
  const std::string dir = temp_dir("fused");
  const std::string args = "train --steps 60 --set model.mlp.width=64 --set train.log_every=20 --set train.eval_every=0 --set sample.num=10 ";
  const ProcResult fused = run_lockstep(args + "--out " + dir + "/fused");
  const ProcResult plain = run_lockstep(args + "--set engine.fused_mlp=false --out " + dir + "/plain");
  REQUIRE(fused.exit_code == 0);
  REQUIRE(plain.exit_code == 0);
  const std::vector<double> a = metric_values(dir + "/fused", "loss"), b = metric_values(dir + "/plain", "loss");
  REQUIRE(a.size() >= 3);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(a[i] == Approx(b[i]).epsilon(1e-4));
}

TEST_CASE("the MLP's forward without autograd gives the numbers of LibTorch's layers", "[model][fused]") {
  // 2-D outputs: the output layer folded into the last SiLU pass; 20-D: an ordinary product; with classes and without
  for (int64_t dim : {2, 20}) {
    for (int64_t classes : {0, 3}) {
      INFO("dim " << dim << " classes " << classes);
      ModelConfig m;
      m.mutable_mlp()->set_width(96);
      m.mutable_mlp()->set_depth(3);
      m.set_class_conditional(classes > 0);
      std::shared_ptr<Net> net = make_net(m, {dim}, 11, classes);
      torch::manual_seed(4);
      const torch::Tensor x = torch::randn({1000, dim}), t = torch::rand({1000}), y = torch::randint(0, classes + 1, {1000});
      const torch::Tensor reference = net->forward(x, t, classes > 0 ? y : torch::Tensor()).detach();  // grad mode: LibTorch's layers
      REQUIRE(reference.requires_grad() == false);
      torch::NoGradGuard no_grad;
      const torch::Tensor fast = net->forward(x, t, classes > 0 ? y : torch::Tensor());
      REQUIRE(fast.sizes() == reference.sizes());
      CHECK((fast - reference).abs().max().item<double>() < 1e-5 * reference.abs().max().item<double>());
    }
  }
}

TEST_CASE("the time embedding without a gradient equals LibTorch's sin and cos", "[model][fused]") {
  const torch::Tensor freqs = embedding_frequencies(32, 1000.0);
  torch::Tensor t = torch::rand({1000}, torch::TensorOptions().dtype(torch::kFloat32)) * 1.5 - 0.25;  // also outside [0, 1]
  const torch::Tensor fast = sinusoidal_embedding(t, freqs);                       // common/kernels/sincos
  const torch::Tensor slow = sinusoidal_embedding(t.clone().requires_grad_(), freqs);  // autograd: LibTorch's sin, cos
  REQUIRE(fast.sizes() == slow.sizes());
  CHECK((fast - slow.detach()).abs().max().item<double>() < 3e-7);
  CHECK(!fast.requires_grad());
  CHECK(slow.requires_grad());
}

TEST_CASE("the MLP keeps forward-mode tangents (the flow map's JVP) off its hand-written passes", "[model][fused]") {
  ModelConfig m;
  m.mutable_mlp()->set_width(32);
  m.mutable_mlp()->set_depth(2);
  std::shared_ptr<Net> net = make_net(m, {2}, 7);
  const torch::Tensor x = torch::randn({9, 2}), t = torch::rand({9});
  const torch::NoGradGuard no_grad;  // the inference path's condition, but for the tangent
  const uint64_t level = torch::autograd::forward_ad::enter_dual_level();
  const torch::Tensor dual_t = at::_make_dual(t, torch::ones_like(t), level);
  torch::Tensor primal, tangent;
  std::tie(primal, tangent) = at::_unpack_dual(sinusoidal_embedding(dual_t, dynamic_cast<Mlp&>(*net).frequencies()), level);
  const torch::Tensor freqs = dynamic_cast<Mlp&>(*net).frequencies().unsqueeze(0), args = t.unsqueeze(1) * freqs;
  REQUIRE(tangent.defined());  // d/dt [sin(w t), cos(w t)] = [w cos(w t), -w sin(w t)]
  CHECK(torch::allclose(tangent, torch::cat({freqs * torch::cos(args), -freqs * torch::sin(args)}, 1), 1e-5, 1e-5));
  std::tie(primal, tangent) = at::_unpack_dual(net->forward(x, dual_t), level);
  const torch::Tensor tangent_out = tangent.defined() ? tangent.clone() : torch::Tensor();
  torch::autograd::forward_ad::exit_dual_level(level);
  REQUIRE(tangent_out.defined());
  const torch::AutoGradMode grad_on(true);  // the reference: d out[i][j] / d t[i] by reverse mode, column by column
  const torch::Tensor leaf_t = t.clone().requires_grad_(true), out = net->forward(x, leaf_t);
  for (int64_t j = 0; j < 2; ++j) {
    const torch::Tensor d = torch::autograd::grad({out.select(1, j).sum()}, {leaf_t}, {}, /*retain_graph=*/true)[0];
    CHECK(torch::allclose(tangent_out.select(1, j), d, 1e-4, 1e-4));
  }
}
