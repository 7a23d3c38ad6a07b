// Networks: U-Net shapes for several configs, zero start, class conditioning and the null class, memory
// format and mixed precision agreement, refusals; and an overfit on a handful of images through the binary.
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>

#include <google/protobuf/text_format.h>

#include "common/io/npy.h"
#include "common/model/autocast.h"
#include "common/model/model_size.h"
#include "common/model/net.h"
#include "common/proto/config.pb.h"
#include "common/util/error.h"
#include "common/util/fs.h"
#include "tests/proc.h"

using namespace lockstep;

namespace {

ModelConfig unet_config(int64_t channels, std::vector<uint32_t> mult, uint32_t res_blocks, bool attention, uint32_t groups) {
  ModelConfig m;
  m.set_name("unet");
  m.mutable_unet()->set_channels(static_cast<uint32_t>(channels));
  for (uint32_t v : mult) m.mutable_unet()->add_channel_mult(v);
  m.mutable_unet()->set_res_blocks(res_blocks);
  m.mutable_unet()->set_attention(attention);
  m.mutable_unet()->set_groups(groups);
  return m;
}

// Gives every parameter seeded random values (a new U-Net is the zero field, which hides everything).
void randomize(Net& net, uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (torch::Tensor& p : net.parameters()) p.normal_(0.0, 0.1);
}

int64_t numel_of(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

}  // namespace

TEST_CASE("U-Net output shapes for several configs and a zero field at the start", "[models]") {
  struct Case {
    std::vector<int64_t> shape;
    ModelConfig cfg;
  };
  const std::vector<Case> cases = {
      {{1, 28, 28}, unet_config(16, {1, 2, 2}, 1, true, 8)},
      {{3, 16, 16}, unet_config(8, {1, 2}, 2, false, 4)},
      {{1, 7, 9}, unet_config(8, {1, 2, 2}, 1, true, 8)},  // odd sizes: 7x9 -> 4x5 -> 2x3 and back
      {{2, 8, 8}, unet_config(8, {1}, 1, true, 2)},         // one level
  };
  for (const Case& c : cases) {
    auto net = make_net(c.cfg, c.shape, 1, 3);
    const int64_t d = numel_of(c.shape);
    const torch::Tensor x = torch::randn({5, d}), t = torch::rand({5});
    const torch::Tensor y = torch::tensor({0, 1, 2, 3, 1}, torch::kInt64);
    const torch::Tensor out = net->forward(x, t, y);
    CHECK(out.sizes().vec() == std::vector<int64_t>{5, d});
    CHECK(out.scalar_type() == torch::kFloat32);
    CHECK(out.abs().max().item<float>() == 0.0f);  // the output convolution starts at zero
    randomize(*net, 2);
    const torch::Tensor out2 = net->forward(x, t, y);
    CHECK(out2.sizes().vec() == std::vector<int64_t>{5, d});
    CHECK(torch::isfinite(out2).all().item<bool>());
    CHECK(out2.abs().max().item<float>() > 0.0f);
    CHECK(parameter_count(*net) > 0);
  }
}

TEST_CASE("U-Net class conditioning changes the output and the null class is accepted", "[models]") {
  auto net = make_net(unet_config(16, {1, 2}, 1, true, 8), {1, 12, 12}, 3, 10);
  randomize(*net, 4);
  const torch::Tensor x = torch::randn({4, 144}), t = torch::full({4}, 0.5f);
  const torch::Tensor a = net->forward(x, t, torch::zeros({4}, torch::kInt64));
  const torch::Tensor b = net->forward(x, t, torch::ones({4}, torch::kInt64));
  CHECK((a - b).abs().max().item<float>() > 1e-3f);
  const torch::Tensor null_class = net->forward(x, t, torch::full({4}, 10, torch::kInt64));  // label 10 of 10 classes
  const torch::Tensor no_label = net->forward(x, t);
  CHECK(torch::equal(null_class, no_label));
  CHECK((null_class - a).abs().max().item<float>() > 1e-3f);
  // the time matters too
  CHECK((net->forward(x, torch::full({4}, 0.9f), torch::zeros({4}, torch::kInt64)) - a).abs().max().item<float>() > 1e-3f);
}

TEST_CASE("U-Net channels-last and plain layouts agree and bf16_mixed stays close to float32", "[models]") {
  ModelConfig last = unet_config(16, {1, 2, 2}, 1, true, 8), plain = last;
  plain.mutable_unet()->set_channels_last(false);
  auto a = make_net(last, {1, 28, 28}, 5, 10), b = make_net(plain, {1, 28, 28}, 5, 10);
  randomize(*a, 6);
  randomize(*b, 6);
  const torch::Tensor x = torch::randn({3, 784}), t = torch::rand({3}), y = torch::tensor({0, 4, 9}, torch::kInt64);
  const torch::Tensor ya = a->forward(x, t, y), yb = b->forward(x, t, y);
  const double scale = ya.abs().max().item<double>();
  CHECK((ya - yb).abs().max().item<double>() < 1e-4 * scale);
  torch::Tensor mixed;
  {
    const AutocastScope bf16(true, false);
    mixed = a->forward(x, t, y);
  }
  CHECK(mixed.scalar_type() == torch::kFloat32);
  const double rel = ((mixed - ya).norm() / ya.norm()).item<double>();
  CHECK(rel < 0.05);  // bfloat16 keeps 8 bits of mantissa: about 0.4% per operation
  CHECK(rel > 0.0);   // and it did run in bfloat16
  CHECK(torch::equal(a->forward(x, t, y), ya));  // the scope ended: float32 again
}

TEST_CASE("U-Net refuses point data and group counts that do not divide the channels", "[models]") {
  const ModelConfig cfg = unet_config(16, {1, 2}, 1, true, 8);
  try {
    make_net(cfg, {2}, 1);
    FAIL("no error");
  } catch (const BadInput& e) {
    CHECK_THAT(e.what(), Catch::Contains("model 'unet' needs image data with items [C, H, W]") && Catch::Contains("[2]"));
  }
  try {
    make_net(unet_config(12, {1, 2}, 1, true, 8), {1, 8, 8}, 1);
    FAIL("no error");
  } catch (const BadInput& e) {
    CHECK_THAT(e.what(), Catch::Contains("model.unet.groups 8 does not divide 12"));
  }
  const test::ProcResult r = test::run_lockstep("train --set model.name=unet --steps 1 --out " + test::temp_dir("unet-points") + "/run");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("needs image data"));
}

TEST_CASE("a short overfit on a handful of images drives the loss down and writes image outputs and grids", "[models][long]") {
  // Eight distinct 8x8 patterns (bars, squares, diagonals), two per class.
  const std::string dir = test::temp_dir("overfit");
  std::vector<float> pixels(8 * 64, -1.0f), labels(8);
  for (int i = 0; i < 8; ++i) {
    labels[i] = static_cast<float>(i / 2);
    for (int r = 0; r < 8; ++r)
      for (int c = 0; c < 8; ++c) {
        const bool on = i == 0 ? r < 4 : i == 1 ? c < 4 : i == 2 ? r == c : i == 3 ? r + c == 7
                      : i == 4 ? (r / 2 + c / 2) % 2 == 0 : i == 5 ? (r >= 2 && r < 6 && c >= 2 && c < 6)
                      : i == 6 ? r % 2 == 0 : c % 3 == 0;
        if (on) pixels[i * 64 + r * 8 + c] = 1.0f;
      }
  }
  write_npy(dir + "/x.npy", pixels.data(), {8, 1, 8, 8});
  write_npy(dir + "/y.npy", labels.data(), {8});
  const std::string common = "--set data.name=npy --set data.images=" + dir + "/x.npy --set data.labels=" + dir + "/y.npy " +
                             "--set model.name=unet --set model.class_conditional=true --set model.unet.channels=16 " +
                             "--set model.unet.channel_mult=1,2 --set model.unet.res_blocks=1 --set train.batch_size=32 " +
                             "--set optim.lr=3e-3 --set optim.warmup_ticks=20 --set train.log_every=10 --set train.eval_every=0 " +
                             "--set sample.num=12 --set sample.steps=10 --set sample.guidance=2 --set engine.threads=2 ";
  const test::ProcResult r = test::run_lockstep("train --steps 500 " + common + "--out " + dir + "/run");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  const std::vector<double> loss = test::metric_values(dir + "/run", "loss");
  REQUIRE(loss.size() >= 20);
  // The zero field's loss is E||z - eps||^2 (about 64 * 2 here); trained, the memorised field leaves only the
  // early-time posterior spread.
  INFO("first " << loss.front() << ", last " << loss.back());
  CHECK(loss.back() < loss.front() / 6);
  CHECK(r.output.find("unet,") != std::string::npos);  // the parameter count line names the model
  const NpyArray s = read_npy(dir + "/run/samples.npy");
  CHECK(s.shape == std::vector<int64_t>{12, 1, 8, 8});
  const std::string png = read_file(dir + "/run/samples.png");
  CHECK(png.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0);
  // `lockstep sample --class`: every sample of the asked class
  const test::ProcResult q = test::run_lockstep("sample " + dir + "/run --class 2 --num 6 --out " + dir + "/c2.npy");
  INFO(q.output);
  REQUIRE(q.exit_code == 0);
  const NpyArray c2 = read_npy(dir + "/c2.npy");
  CHECK(c2.shape == std::vector<int64_t>{6, 1, 8, 8});
  // class 2 holds patterns 4 and 5: every sample's nearest training image is one of them
  int of_class = 0;
  for (int k = 0; k < 6; ++k) {
    int best = -1;
    double best_d = 1e30;
    for (int i = 0; i < 8; ++i) {
      double d = 0;
      for (int p = 0; p < 64; ++p) d += std::pow(c2.data[k * 64 + p] - pixels[i * 64 + p], 2);
      if (d < best_d) best_d = d, best = i;
    }
    of_class += best / 2 == 2;
  }
  CHECK(of_class == 6);
  CHECK(is_file(dir + "/c2.png"));
  CHECK(test::run_lockstep("sample " + dir + "/run --class 4 --num 6 --out " + dir + "/c4.npy").exit_code == 2);
}

// The size estimate that guards memory before a model is built counts exactly the parameters the constructors make.
TEST_CASE("estimate_model counts the parameters of the MLP, the U-Net and the classifier exactly", "[models]") {
  struct Case {
    std::string text;
    std::vector<int64_t> shape;
    int64_t classes;
  };
  const std::vector<Case> cases = {
      {"model { name: \"mlp\" mlp { width: 48 depth: 3 } }", {2}, 0},
      {"model { name: \"mlp\" class_conditional: true mlp { width: 16 depth: 1 class_embedding: 8 } }", {5}, 4},
      {"model { name: \"mlp\" } train { loss: TVM }", {2}, 0},
      {"model { name: \"unet\" unet { channels: 16 channel_mult: [1, 2, 2] res_blocks: 1 } }", {1, 28, 28}, 0},
      {"model { name: \"unet\" class_conditional: true unet { channels: 8 channel_mult: [1, 3] res_blocks: 2 attention: false groups: 4 } }",
       {3, 16, 16}, 10},
      {"model { name: \"unet\" unet { channels: 8 channel_mult: [2] res_blocks: 1 time_embedding: 12 } } train { loss: TVM }", {1, 8, 8}, 0},
      {"model { name: \"classifier\" classifier { channels: 8 features: 32 } } train { loss: CLASSIFY }", {1, 28, 28}, 10},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    Config cfg;
    REQUIRE(google::protobuf::TextFormat::ParseFromString(c.text, &cfg));
    const auto net = make_net(cfg.model(), c.shape, 3, c.classes, flow_map_spec(cfg));
    CHECK(estimate_model(cfg, c.shape, c.classes).parameters == static_cast<uint64_t>(parameter_count(*net)));
    CHECK(estimate_model(cfg, c.shape, c.classes).activation_bytes_per_sample > 0);
  }
}
