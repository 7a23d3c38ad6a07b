// The Diffusion Transformer and activation checkpointing: shapes, the zero field at the start, the parameter count
// against the estimate and the DiT paper's sizes, positions, fused against written-out attention, class
// conditioning, refusals; gradients of checkpointed U-Net and DiT blocks equal to the plain ones (float32, bf16,
// the TVM loss), and checkpointing refused where it does not apply.
#include <catch2/catch.hpp>

#include <cmath>

#include <filesystem>
#include <fstream>

#include "common/checkpoint/checkpoint.h"
#include "common/data/batch.h"
#include "common/io/npy.h"
#include "common/loss/tvm.h"
#include "common/model/activation_checkpoint.h"
#include "common/model/autocast.h"
#include "common/model/dit.h"
#include "common/model/dit_shape.h"
#include "common/model/model_size.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"
#include "tests/proc.h"

using namespace lockstep;
using namespace lockstep::test;

namespace {

ModelConfig small_dit(uint32_t patch = 2, bool qk_norm = false) {
  ModelConfig m;
  m.set_name("dit");
  m.mutable_dit()->set_patch(patch);
  m.mutable_dit()->set_width(32);
  m.mutable_dit()->set_depth(2);
  m.mutable_dit()->set_heads(4);
  m.mutable_dit()->set_time_embedding(32);
  m.mutable_dit()->set_qk_norm(qk_norm);
  return m;
}

ModelConfig small_unet() {
  ModelConfig m;
  m.set_name("unet");
  m.mutable_unet()->set_channels(8);
  m.mutable_unet()->set_groups(4);
  m.mutable_unet()->add_channel_mult(1);
  m.mutable_unet()->add_channel_mult(2);
  m.mutable_unet()->set_res_blocks(1);
  m.mutable_unet()->set_attention_heads(2);
  m.mutable_unet()->set_channels_last(false);
  return m;
}

void randomize(Net& net, uint64_t seed, double scale = 0.1) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (torch::Tensor& p : net.parameters()) p.copy_(scale * torch::randn_like(p));
}

std::vector<torch::Tensor> grads_of(Net& net) {
  std::vector<torch::Tensor> out;
  for (const torch::Tensor& p : net.parameters()) out.push_back(p.grad().defined() ? p.grad().clone() : torch::zeros_like(p));
  return out;
}

// max |a - b| / max |b| over all parameters
double relative_gap(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double worst = 0, scale = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
    scale = std::max(scale, b[i].abs().max().item<double>());
  }
  REQUIRE(scale > 0);
  return worst / scale;
}

}  // namespace

TEST_CASE("DiT output shapes, a zero field at the start and the exact parameter count", "[models][dit]") {
  for (uint32_t patch : {2u, 4u}) {
    for (bool classes : {false, true}) {
      INFO("patch " << patch << " classes " << classes);
      ModelConfig m = small_dit(patch, patch == 4);
      m.set_class_conditional(classes);
      const std::vector<int64_t> shape = {3, 8, 12};
      auto net = make_net(m, shape, 11, classes ? 5 : 0);
      const torch::Tensor x = torch::randn({3, 3 * 8 * 12}), t = torch::rand({3});
      const torch::Tensor out = net->forward(x, t, classes ? torch::tensor({0, 4, 5}) : torch::Tensor());
      CHECK(out.sizes() == torch::IntArrayRef({3, 3 * 8 * 12}));
      CHECK(out.abs().max().item<double>() == 0.0);  // adaLN-Zero gates and the final layer start at zero
      Config cfg;
      *cfg.mutable_model() = m;
      CHECK(estimate_model(cfg, shape, classes ? 5 : 0).parameters == static_cast<uint64_t>(parameter_count(*net)));
    }
  }
}

TEST_CASE("DiT named sizes have the paper's depth width and heads and count like the paper's models", "[models][dit]") {
  DitConfig d;
  for (auto [size, depth, width, heads] : {std::tuple<const char*, int, int, int>{"S", 12, 384, 6}, {"B", 12, 768, 12}, {"L", 24, 1024, 16},
                                          {"XL", 28, 1152, 16}}) {
    d.set_size(size);
    const DitShape s = dit_shape(d);
    CHECK(s.depth == depth);
    CHECK(s.width == width);
    CHECK(s.heads == heads);
    CHECK(s.mlp_hidden == 4 * width);
  }
  d.set_size("XL");
  d.set_depth(3);
  d.set_heads(8);
  CHECK(dit_shape(d).depth == 3);
  CHECK(dit_shape(d).heads == 8);
  CHECK(dit_shape(d).width == 1152);
  d.set_size("M");
  CHECK_THROWS_AS(dit_shape(d), BadInput);
  // DiT-XL/2 on 32x32x4 latents with 1000 classes: the paper's 675 M parameters (its 8 output channels: learned
  // sigma; ours predict 4, so 2 x 2 x 4 x 1152 + 16 fewer numbers in the final layer)
  Config cfg;
  cfg.mutable_model()->set_name("dit");
  cfg.mutable_model()->set_class_conditional(true);
  cfg.mutable_model()->mutable_dit()->set_size("XL");
  const uint64_t xl = estimate_model(cfg, {4, 32, 32}, 1000).parameters;
  // DiT's models.py, DiT_XL_2(): sum of p.numel(), which counts its fixed pos_embed (a parameter without gradient; ours
  // is a buffer): 256 tokens x 1152
  CHECK(xl + 4 * 4 * 1152 + 16 + 256 * 1152 == 675129632);
}

TEST_CASE("DiT positions are DiT's 2-D sine-cosine table", "[models][dit]") {
  const int64_t width = 8, rows = 3, cols = 4;
  const torch::Tensor pos = Dit::sincos_positions(width, rows, cols);
  REQUIRE(pos.sizes() == torch::IntArrayRef({rows * cols, width}));
  for (int64_t i = 0; i < rows * cols; ++i) {
    const double r = static_cast<double>(i / cols), c = static_cast<double>(i % cols);
    for (int64_t k = 0; k < 2; ++k) {  // width / 4 frequencies per half
      const double omega = std::pow(10000.0, -static_cast<double>(k) / 2.0);
      CHECK(pos[i][k].item<double>() == Approx(std::sin(c * omega)).margin(1e-6));
      CHECK(pos[i][2 + k].item<double>() == Approx(std::cos(c * omega)).margin(1e-6));
      CHECK(pos[i][4 + k].item<double>() == Approx(std::sin(r * omega)).margin(1e-6));
      CHECK(pos[i][6 + k].item<double>() == Approx(std::cos(r * omega)).margin(1e-6));
    }
  }
}

TEST_CASE("DiT fused attention equals the written-out product and softmax, values and gradients", "[models][dit]") {
  for (bool qk_norm : {false, true}) {
    INFO("qk_norm " << qk_norm);
    torch::manual_seed(3);
    DitBlock fused(32, 4, 64, qk_norm, true), plain(32, 4, 64, qk_norm, false);
    {
      torch::NoGradGuard no_grad;
      auto a = fused->parameters(), b = plain->parameters();
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        a[i].copy_(0.2 * torch::randn_like(a[i]));
        b[i].copy_(a[i]);
      }
    }
    const torch::Tensor x = torch::randn({2, 9, 32}), c = torch::randn({2, 32});
    const torch::Tensor yf = fused->forward(x, c), yp = plain->forward(x, c);
    CHECK((yf - yp).abs().max().item<double>() < 1e-5 * (1 + yp.abs().max().item<double>()));
    CHECK((yp - x).abs().max().item<double>() > 1e-2);  // the block does something
    yf.pow(2).sum().backward();
    yp.pow(2).sum().backward();
    std::vector<torch::Tensor> gf, gp;
    for (const torch::Tensor& p : fused->parameters()) gf.push_back(p.grad());
    for (const torch::Tensor& p : plain->parameters()) gp.push_back(p.grad());
    CHECK(relative_gap(gf, gp) < 1e-5);
  }
}

TEST_CASE("DiT class conditioning changes the output, the null class is accepted, learned positions train", "[models][dit]") {
  ModelConfig m = small_dit();
  m.set_class_conditional(true);
  m.mutable_dit()->set_learned_positions(true);
  auto net = make_net(m, {1, 8, 8}, 5, 3);
  randomize(*net, 4);
  const torch::Tensor x = torch::randn({2, 64}), t = torch::full({2}, 0.5);
  const torch::Tensor a = net->forward(x, t, torch::tensor({0, 0})), b = net->forward(x, t, torch::tensor({1, 3}));
  CHECK((a - b).abs().max().item<double>() > 1e-4);
  CHECK(torch::equal(net->forward(x, t, torch::tensor({3, 3})), net->forward(x, t)));  // undefined y: the null class
  bool has_positions = false;
  for (const auto& p : net->named_parameters()) has_positions |= p.key() == "positions";
  CHECK(has_positions);
}

TEST_CASE("DiT refuses point data, a patch that does not divide the image and heads that do not divide the width", "[models][dit]") {
  CHECK_THROWS_WITH(make_net(small_dit(), {2}, 1), Catch::Contains("items [C, H, W]"));
  CHECK_THROWS_WITH(make_net(small_dit(4), {1, 10, 8}, 1), Catch::Contains("model.dit.patch 4 does not divide"));
  ModelConfig m = small_dit();
  m.mutable_dit()->set_heads(5);
  CHECK_THROWS_WITH(make_net(m, {1, 8, 8}, 1), Catch::Contains("model.dit.heads 5 does not divide the width 32"));
}

TEST_CASE("activation checkpointing gives the same gradients for U-Net and DiT in float32 and bf16", "[models][checkpoint]") {
  for (const char* arch : {"unet", "dit"}) {
    for (bool bf16 : {false, true}) {
      INFO(arch << (bf16 ? " bf16_mixed" : " fp32"));
      ModelConfig m = std::string(arch) == "unet" ? small_unet() : small_dit(2, true);
      m.set_class_conditional(true);
      std::vector<torch::Tensor> grads[2];
      torch::Tensor outs[2];
      for (int k = 0; k < 2; ++k) {
        m.set_checkpoint_activations(k == 1);
        auto net = make_net(m, {2, 8, 8}, 7, 3);
        randomize(*net, 9);
        torch::manual_seed(1);
        const torch::Tensor x = torch::randn({4, 128}), t = torch::rand({4}), y = torch::tensor({0, 1, 2, 3});
        const AutocastScope autocast(bf16, false, Bf16Convs::kNative);
        outs[k] = net->forward(x, t, y);
        (outs[k] * torch::linspace(-1, 1, 128)).sum().backward();
        grads[k] = grads_of(*net);
      }
      CHECK(torch::equal(outs[0], outs[1]));
      // float32: to 1e-6 (the same operations; only the order in which a tensor's gradient contributions add up may
      // differ, where a block's input is also used outside it). bf16_mixed: those float32 differences of one ulp
      // can flip the rounding of a bfloat16 operand further back (measured up to 2.4e-4 in the U-Net, whose block
      // inputs also feed the skip connections; 0 in the DiT); bfloat16's own relative precision is 3.9e-3
      CHECK(relative_gap(grads[1], grads[0]) < (bf16 ? 1e-3 : 1e-6));
    }
  }
}

TEST_CASE("activation checkpointing under the TVM loss: same loss and gradients for both JVP methods", "[models][checkpoint][tvm]") {
  for (const char* arch : {"unet", "dit"}) {
    for (JvpMethod method : {JvpMethod::kForward, JvpMethod::kDoubleBackward}) {
      INFO(arch << (method == JvpMethod::kForward ? " forward mode" : " double backward"));
      ModelConfig m = std::string(arch) == "unet" ? small_unet() : small_dit();
      m.set_class_conditional(true);
      FlowMapSpec f;
      f.enabled = true;
      f.gap_embedding = 8;
      f.guidance = true;
      std::vector<torch::Tensor> grads[2];
      double losses[2] = {0, 0};
      for (int k = 0; k < 2; ++k) {
        m.set_checkpoint_activations(k == 1);
        auto net = make_net(m, {1, 8, 8}, 7, 3, f), target = make_net(m, {1, 8, 8}, 7, 3, f);
        randomize(*net, 9);
        randomize(*target, 10);
        torch::manual_seed(2);
        TrainBatch b;
        b.z = torch::randn({4, 64});
        b.eps = torch::randn({4, 64});
        b.t = torch::rand({4}) * 0.5;
        b.s = b.t + 0.3;
        b.r = torch::rand({4});
        b.w = torch::tensor({1.0f, 1.5f, 2.0f, 1.0f});
        b.y = torch::tensor({0, 1, 2, 3});
        const torch::Tensor loss = tvm_loss_per_sample(*net, *target, b, method, 1.0, 3).sum();
        loss.backward();
        losses[k] = loss.item<double>();
        grads[k] = grads_of(*net);
      }
      CHECK(losses[1] == losses[0]);
      CHECK(relative_gap(grads[1], grads[0]) < 1e-6);
    }
  }
}

TEST_CASE("checkpointed blocks: a NoCheckpointScope and no-grad mode run blocks whole", "[models][checkpoint]") {
  CHECK(checkpointing_allowed());
  {
    const NoCheckpointScope whole;
    CHECK_FALSE(checkpointing_allowed());
  }
  CHECK(checkpointing_allowed());
  {
    torch::NoGradGuard no_grad;
    CHECK_FALSE(checkpointing_allowed());
  }
  // a checkpointed function's gradient in its input and in a parameter, against the closed form
  const torch::Tensor w = torch::tensor({2.0, -1.0}, torch::kFloat64).requires_grad_(true);
  const torch::Tensor x = torch::tensor({0.5, 3.0}, torch::kFloat64).requires_grad_(true);
  const torch::Tensor out = checkpointed([&w](const std::vector<torch::Tensor>& in) { return (in[0] * w).sin(); }, {x}, {w});
  out.sum().backward();
  CHECK(torch::allclose(x.grad(), (x * w).cos().detach() * w.detach()));
  CHECK(torch::allclose(w.grad(), (x * w).cos().detach() * x.detach()));
}

TEST_CASE("a DiT trains with every prediction and loss, samples with every sampler and resumes bitwise", "[dit][long]") {
  const std::string dir = temp_dir("dit-e2e");
  const std::string cfg = dir + "/dit.textproto";
  {
    std::ofstream f(cfg);
    f << "name: \"dit\"\ndata { name: \"fashion_mnist\" split: \"train\" }\npath { t_min: 0.001 t_max: 0.999 }\n"
         "model { name: \"dit\" class_conditional: true dit { patch: 4 width: 16 depth: 1 heads: 2 time_embedding: 16 } }\n"
         "train { steps: 6 batch_size: 8 log_every: 1 eval_every: 3 eval_samples: 8 checkpoint_every: 3 keep_last: 0 }\n"
         "sample { num: 4 steps: 2 }\nengine { threads: 1 }\n";
  }
  // predictions and their losses (flow matching, score matching, DDPM's noise, data), on the linear and a VP path
  for (const char* setting : {"--set model.prediction=SCORE --set path.name=vp_cosine", "--set model.prediction=EPSILON --set path.name=vp_linear",
                              "--set model.prediction=X0", "--set train.loss=TVM --set path.t_min=0 --set path.t_max=1 --set sample.sampler=tvm"}) {
    const ProcResult r = run_lockstep("train " + cfg + " " + setting + " --steps 2 --set train.checkpoint_every=0 --out " + dir + "/p" + std::to_string(std::hash<std::string>{}(setting) % 1000));
    INFO(setting << "\n" << r.output);
    CHECK(r.exit_code == 0);
  }
  // the reference run, then the same from its tick-3 checkpoint
  ProcResult r = run_lockstep("train " + cfg + " --out " + dir + "/ref");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::string resumed = dir + "/resumed";
  std::filesystem::create_directories(resumed + "/checkpoints");
  std::filesystem::copy_file(dir + "/ref/checkpoints/tick-00000003.ckpt", resumed + "/checkpoints/tick-00000003.ckpt");
  for (const char* file : {"run_id", "config.textproto"}) std::filesystem::copy_file(dir + "/ref/" + file, resumed + "/" + file);
  r = run_lockstep("train --resume " + resumed);
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const CheckpointData a = load_checkpoint(dir + "/ref/checkpoints/tick-00000006.ckpt");
  const CheckpointData b = load_checkpoint(resumed + "/checkpoints/tick-00000006.ckpt");
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) CHECK(torch::equal(a.tensors[i].second, b.tensors[i].second));
  // every sampler, with guidance and a class, EMA and raw weights
  for (const char* sampler : {"euler", "midpoint", "heun", "rk4", "dopri5", "euler_maruyama", "ddim", "ddpm"}) {
    const std::string out = dir + "/s-" + sampler + ".npy";
    r = run_lockstep(std::string("sample ") + dir + "/ref --sampler " + sampler + " --steps 3 --num 3 --guidance 2 --class 4 --out " + out);
    INFO(sampler << "\n" << r.output);
    REQUIRE(r.exit_code == 0);
    const NpyArray x = read_npy(out);
    CHECK(x.shape == std::vector<int64_t>{3, 1, 28, 28});
    CHECK(std::all_of(x.data.begin(), x.data.end(), [](float v) { return std::isfinite(v); }));
  }
  r = run_lockstep("sample " + dir + "/ref --raw --steps 2 --num 2 --out " + dir + "/raw.npy");
  CHECK(r.exit_code == 0);
}
