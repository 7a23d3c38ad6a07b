// Terminal Velocity Matching (train.loss TVM): the Jacobian-vector product in s against finite differences (both
// methods, MLP and U-Net) and the two methods' parameter gradients against each other; the TVM loss of the exact
// flow map of a single Gaussian (terminal term zero, flow-matching term its closed-form minimum); the truncated time
// sampling; 1-step samples of a short TVM run on a Gaussian mixture; world-size invariance on 1 and 2 ranks;
// sampling and config refusals.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/checkpoint/checkpoint.h"
#include "common/data/batch.h"
#include "common/data/dataset.h"
#include "common/io/npy.h"
#include "common/loss/tvm.h"
#include "common/model/net.h"
#include "common/proto/config.pb.h"
#include "tests/proc.h"

using namespace lockstep;
using namespace lockstep::test;

namespace {

std::shared_ptr<Net> flow_map_net(const std::string& name, const std::vector<int64_t>& shape, int64_t classes, bool guidance) {
  ModelConfig m;
  m.set_name(name);
  m.mutable_mlp()->set_width(32);
  m.mutable_mlp()->set_depth(2);
  m.mutable_unet()->set_channels(8);
  m.mutable_unet()->set_groups(4);
  m.mutable_unet()->add_channel_mult(1);
  m.mutable_unet()->add_channel_mult(2);
  m.mutable_unet()->set_res_blocks(1);
  m.mutable_unet()->set_attention_heads(2);
  m.mutable_dit()->set_width(16);
  m.mutable_dit()->set_depth(2);
  m.mutable_dit()->set_heads(2);
  m.mutable_dit()->set_time_embedding(16);
  m.mutable_dit()->set_qk_norm(true);
  FlowMapSpec f;
  f.enabled = true;
  f.gap_embedding = 8;
  f.gap_max_frequency = 3.0;  // higher than the default, so that the derivative in s is not nearly constant
  f.guidance = guidance;
  auto net = make_net(m, shape, 11, classes, f);
  // the U-Net's last convolutions start at zero (a zero field): give every parameter a random value
  torch::NoGradGuard no_grad;
  torch::manual_seed(5);
  for (torch::Tensor& p : net->parameters()) p.copy_(0.3 * torch::randn_like(p));
  return net;
}

// The exact flow map of N(mu, sigma^2 I) on the linear path: sigma_t^2 = t^2 sigma^2 + (1 - t)^2,
// f(x, t, s) = s mu + (sigma_s / sigma_t) (x - t mu); F = (f - x) / (s - t), at s = t the velocity
// mu + (sigma_t' / sigma_t) (x - t mu) with sigma_t' = (t sigma^2 - (1 - t)) / sigma_t. Differentiable in s.
class GaussianFlowMap : public Net {
 public:
  GaussianFlowMap(torch::Tensor mu, double sigma) : mu_(std::move(mu)), sigma_(sigma) { flow_map_.enabled = true; }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& y) override {
    return forward_map(x, t, t, y, {});
  }
  torch::Tensor forward_map(const torch::Tensor& x, const torch::Tensor& t, const torch::Tensor& s, const torch::Tensor&,
                            const torch::Tensor&) override {
    const torch::Tensor tc = t.view({-1, 1}), sc = s.view({-1, 1});
    const double v = sigma_ * sigma_;
    const torch::Tensor sd_t = (tc * tc * v + (1 - tc).pow(2)).sqrt(), sd_s = (sc * sc * v + (1 - sc).pow(2)).sqrt();
    const torch::Tensor centred = x - tc * mu_;
    const torch::Tensor close = (sc - tc).abs() < 1e-9;
    const torch::Tensor jump = (sc * mu_ + sd_s / sd_t * centred - x) / torch::where(close, torch::ones_like(sc), sc - tc);
    const torch::Tensor velocity = mu_ + (tc * v - (1 - tc)) / (sd_t * sd_t) * centred;
    return torch::where(close, velocity, jump);
  }

 private:
  torch::Tensor mu_;
  double sigma_;
};

ProcResult mpi_lockstep(int ranks, const std::string& args) { return run_shell(mpi_lockstep_command(ranks) + " " + args); }

}  // namespace

TEST_CASE("the normal quantile inverts the normal CDF", "[tvm]") {
  for (double p : {1e-12, 1e-6, 0.01, 0.02425, 0.3, 0.5, 0.77, 0.97575, 0.999, 1 - 1e-9}) {
    const double x = normal_quantile(p);
    CHECK(0.5 * std::erfc(-x / std::sqrt(2.0)) == Approx(p).epsilon(1e-10));
  }
}

TEST_CASE("the JVP in s matches central finite differences for both methods and the MLP U-Net and DiT", "[tvm]") {
  struct Case {
    const char* name;
    std::vector<int64_t> shape;
    int64_t classes;
    bool guidance;
  };
  for (const Case& c : {Case{"mlp", {3}, 0, false}, Case{"mlp", {2}, 4, true}, Case{"unet", {1, 8, 8}, 3, true}, Case{"dit", {2, 4, 4}, 3, true}}) {
    INFO(c.name << " classes " << c.classes << " guidance input " << c.guidance);
    auto net = flow_map_net(c.name, c.shape, c.classes, c.guidance);
    net->to(torch::kFloat64);
    int64_t d = 1;
    for (int64_t v : c.shape) d *= v;
    const int64_t n = 5;
    torch::manual_seed(2);
    const auto f64 = torch::TensorOptions(torch::kFloat64);
    const torch::Tensor x = torch::randn({n, d}, f64), t = torch::rand({n}, f64) * 0.5, s = t + 0.1 + 0.4 * torch::rand({n}, f64);
    const torch::Tensor y = c.classes > 0 ? torch::randint(c.classes + 1, {n}, torch::kInt64) : torch::Tensor();
    const torch::Tensor w = c.guidance ? 1 + 2 * torch::rand({n}, f64) : torch::Tensor();
    const double h = 1e-5;
    torch::Tensor fd;
    {
      torch::NoGradGuard no_grad;
      fd = (net->forward_map(x, t, s + h, y, w) - net->forward_map(x, t, s - h, y, w)) / (2 * h);
    }
    for (JvpMethod m : {JvpMethod::kForward, JvpMethod::kDoubleBackward}) {
      INFO((m == JvpMethod::kForward ? "forward mode" : "double backward"));
      auto [F, dF] = flow_map_jvp(*net, x, t, s, y, w, m);
      CHECK(F.sizes() == torch::IntArrayRef({n, d}));
      CHECK(fd.abs().max().item<double>() > 1e-3);  // a derivative worth comparing
      CHECK((dF - fd).abs().max().item<double>() < 1e-7 * (1 + fd.abs().max().item<double>()));
    }
    // the parameter gradients of a loss built on the JVP agree between the methods (backward through forward mode)
    const torch::Tensor probe = torch::randn({n, d}, f64);
    std::vector<torch::Tensor> grads[2];
    for (int k = 0; k < 2; ++k) {
      net->zero_grad();
      auto [F, dF] = flow_map_jvp(*net, x, t, s, y, w, k == 0 ? JvpMethod::kForward : JvpMethod::kDoubleBackward);
      ((dF * probe).sum() + (F * F).sum()).backward();
      for (const torch::Tensor& p : net->parameters()) grads[k].push_back(p.grad().clone());
    }
    double worst = 0, scale = 0;
    for (size_t i = 0; i < grads[0].size(); ++i) {
      worst = std::max(worst, (grads[0][i] - grads[1][i]).abs().max().item<double>());
      scale = std::max(scale, grads[1][i].abs().max().item<double>());
    }
    CHECK(scale > 1e-3);
    CHECK(worst < 1e-9 * (1 + scale));
  }
}

TEST_CASE("the TVM loss of the exact flow map of a single Gaussian: terminal term zero and flow-matching term at its minimum", "[tvm]") {
  const double sigma = 0.5;
  const int64_t d = 3, n = 20000;
  const auto f64 = torch::TensorOptions(torch::kFloat64);
  const torch::Tensor mu = torch::tensor({1.0, -0.5, 2.0}, f64);
  GaussianFlowMap oracle(mu, sigma);
  DataConfig dc;
  dc.set_name("gaussian_mixture");
  MixtureComponent* c = dc.add_mixture();
  for (int k = 0; k < d; ++k) c->add_mean(mu[k].item<double>());
  c->set_std(sigma);
  const auto data = make_dataset(dc, 1);
  TimeSpec ts;
  ts.tvm = true;
  BatchMaker maker(*data, 9, ts);
  TrainBatch b32;
  maker.make(0, n, 0, n, &b32);
  const TrainBatch b{b32.z.to(torch::kFloat64), b32.eps.to(torch::kFloat64), b32.t.to(torch::kFloat64), b32.y,
                     b32.s.to(torch::kFloat64), b32.r.to(torch::kFloat64), b32.w.to(torch::kFloat64)};
  for (JvpMethod m : {JvpMethod::kForward, JvpMethod::kDoubleBackward}) {
    const TvmTerms terms = tvm_terms(oracle, oracle, b, m, 0);
    CHECK(terms.terminal.abs().max().item<double>() < 1e-18 + 1e-10 * terms.fm.mean().item<double>());
    // flow matching: E || v - u(x_r) ||^2 = d (Var v - Cov(v, x_r)^2 / Var x_r), v = z - eps, per dimension
    const torch::Tensor r = b.r;
    const double v = sigma * sigma;
    const torch::Tensor expected = d * ((v + 1) - (r * v - (1 - r)).pow(2) / (r * r * v + (1 - r).pow(2)));
    const double mean = terms.fm.mean().item<double>(), target = expected.mean().item<double>();
    const double se = (terms.fm - expected).std().item<double>() / std::sqrt(static_cast<double>(n));
    INFO("fm mean " << mean << " expected " << target << " SE " << se);
    CHECK(std::abs(mean - target) < 5 * se);
  }
}

TEST_CASE("TVM times: 0 <= t < s <= 1 with logit-normal s - t and the same draws for any slicing", "[tvm]") {
  DataConfig dc;
  const auto data = make_dataset(dc, 1);
  TimeSpec ts;
  ts.tvm = true;
  BatchMaker maker(*data, 4, ts);
  const int64_t n = 20000;
  TrainBatch all, part;
  maker.make(3, n, 0, n, &all);
  maker.make(3, n, 1000, 1500, &part);
  CHECK(torch::equal(part.s, all.s.narrow(0, 1000, 500)));
  CHECK(torch::equal(part.t, all.t.narrow(0, 1000, 500)));
  CHECK(torch::equal(part.r, all.r.narrow(0, 1000, 500)));
  CHECK((all.t >= 0).all().item<bool>());
  CHECK((all.s > all.t).all().item<bool>());
  CHECK((all.s <= 1).all().item<bool>());
  CHECK((all.w == 1).all().item<bool>());
  // logit(gap) ~ N(-0.8, 1): mean and standard deviation within 5 standard errors
  const torch::Tensor gap = (all.s - all.t).to(torch::kFloat64).clamp(1e-7, 1 - 1e-7);
  const torch::Tensor lg = (gap / (1 - gap)).log();
  const double se = 1.0 / std::sqrt(static_cast<double>(n));
  CHECK(std::abs(lg.mean().item<double>() + 0.8) < 5 * se);
  CHECK(std::abs(lg.std().item<double>() - 1.0) < 5 * se * std::sqrt(0.5) + 1e-3);
  // the flow-matching time: logit(r) ~ N(0.4, 1)
  const torch::Tensor r = all.r.to(torch::kFloat64).clamp(1e-7, 1 - 1e-7);
  CHECK(std::abs((r / (1 - r)).log().mean().item<double>() - 0.4) < 5 * se);
}

TEST_CASE("a short TVM run on a Gaussian mixture: 1-step samples have the mixture's mean and covariance and 1 rank = 2 ranks", "[tvm][mpi][long]") {
  const std::string dir = temp_dir("tvm-mixture");
  {
    std::ofstream cfg(dir + "/gm.textproto");
    cfg << "name: \"tvm_mixture\"\n"
           "data { name: \"gaussian_mixture\"\n"
           "  mixture { weight: 1 mean: -1 mean: 0 std: 0.3 }\n"
           "  mixture { weight: 1 mean: 1 mean: 0.5 std: 0.3 } }\n"
           "model { mlp { width: 128 depth: 3 } }\n"
           "train { loss: TVM steps: 800 batch_size: 256 log_every: 100 eval_every: 400 ema_decay: 0.99 }\n"
           "optim { lr: 2e-3 warmup_ticks: 50 }\n"
           "sample { sampler: \"tvm\" steps: 1 num: 4000 }\n";
  }
  ProcResult r = run_lockstep("train " + dir + "/gm.textproto --out " + dir + "/one --set engine.threads=1");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("(tvm, 1 NFE)"));
  const NpyArray a = read_npy(dir + "/one/samples.npy");
  REQUIRE(a.shape == std::vector<int64_t>({4000, 2}));
  const torch::Tensor x = torch::from_blob(const_cast<float*>(a.data.data()), {4000, 2}, torch::kFloat32).to(torch::kFloat64);
  // the mixture: mean (0, 0.25); covariance 0.09 I + [[1, 0.25], [0.25, 0.0625]]
  const torch::Tensor mean = x.mean(0), centred = x - mean, cov = centred.t().mm(centred) / 3999.0;
  const double n = 4000;
  // margins: 5 standard errors of the sample statistics at n = 4000 plus 0.05 for what 800 ticks leave unlearned
  const double se_mx = std::sqrt(1.09 / n), se_my = std::sqrt(0.1525 / n);
  const double se_cxx = 1.09 * std::sqrt(2 / n) * 1.5, se_cyy = 0.1525 * std::sqrt(2 / n) * 1.5,  // x is bimodal: 1.5 for the kurtosis
      se_cxy = std::sqrt((1.09 * 0.1525 + 0.25 * 0.25) / n) * 1.5;
  INFO("mean " << mean << "\ncov " << cov);
  CHECK(std::abs(mean[0].item<double>() - 0.0) < 5 * se_mx + 0.05);
  CHECK(std::abs(mean[1].item<double>() - 0.25) < 5 * se_my + 0.05);
  CHECK(std::abs(cov[0][0].item<double>() - 1.09) < 5 * se_cxx + 0.05);
  CHECK(std::abs(cov[1][1].item<double>() - 0.1525) < 5 * se_cyy + 0.05);
  CHECK(std::abs(cov[0][1].item<double>() - 0.25) < 5 * se_cxy + 0.05);

  // world-size invariance: the same losses, held-out losses and final state (target weights included) on 2 ranks
  r = mpi_lockstep(2, "train " + dir + "/gm.textproto --out " + dir + "/two --steps 40 --set train.log_every=1 --set train.eval_every=20 --set sample.num=50");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  ProcResult r1 = run_lockstep("train " + dir + "/gm.textproto --out " + dir + "/one40 --steps 40 --set train.log_every=1 --set train.eval_every=20 --set sample.num=50");
  REQUIRE(r1.exit_code == 0);
  const std::vector<double> l1 = metric_values(dir + "/one40", "loss"), l2 = metric_values(dir + "/two", "loss");
  REQUIRE(l1.size() == 40);
  REQUIRE(l2.size() == 40);
  for (size_t i = 0; i < l1.size(); ++i) CHECK(l2[i] == Approx(l1[i]).epsilon(1e-5));
  const std::vector<double> e1 = metric_values(dir + "/one40", "eval_loss"), e2 = metric_values(dir + "/two", "eval_loss");
  REQUIRE(e1.size() == 2);
  REQUIRE(e2.size() == 2);
  for (size_t i = 0; i < e1.size(); ++i) CHECK(e2[i] == Approx(e1[i]).epsilon(1e-5));
  const CheckpointData c1 = load_checkpoint(resolve_checkpoint(dir + "/one40")), c2 = load_checkpoint(resolve_checkpoint(dir + "/two"));
  // (1e-4: the JVP adds sums whose order depends on the split, and Adam magnifies rounding in small gradients)
  for (const char* name : {"params", "target", "ema"}) {
    INFO(name);
    const torch::Tensor p1 = c1.tensor(name, "one"), p2 = c2.tensor(name, "two");
    CHECK(((p1 - p2).abs() / (p1.abs() + 1e-3)).max().item<double>() < 1e-4);
  }
  // multi-jump sampling of the same checkpoint on 2 ranks gives the samples of 1 rank
  r = run_lockstep("sample " + dir + "/one --sampler tvm --steps 4 --num 300 --out " + dir + "/s1.npy");
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.output, Catch::Contains("tvm with 4.0 NFE"));
  r = mpi_lockstep(2, "sample " + dir + "/one --sampler tvm --steps 4 --num 300 --out " + dir + "/s2.npy");
  REQUIRE(r.exit_code == 0);
  CHECK(read_npy(dir + "/s1.npy").data == read_npy(dir + "/s2.npy").data);

  // the sweep: TVM's jumps and its Euler, and a flow-matching baseline's Euler, up to 4 NFE
  r = run_lockstep("train " + dir + "/gm.textproto --out " + dir + "/fm --steps 20 --set train.loss=FLOW --set sample.sampler=euler --set sample.num=20");
  REQUIRE(r.exit_code == 0);
  r = run_lockstep("eval " + dir + "/one --num 200 --sweep --sweep-samplers euler --sweep-max-nfe 4 --baseline " + dir + "/fm --report " + dir + "/sweep.json");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::ifstream in(dir + "/sweep.json");
  const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto count = [&](const std::string& needle) {
    size_t k = 0;
    for (size_t at = json.find(needle); at != std::string::npos; at = json.find(needle, at + 1)) ++k;
    return k;
  };
  CHECK(count("{\"model\": \"this\", \"sampler\": \"tvm\"") == 3);
  CHECK(count("{\"model\": \"this\", \"sampler\": \"euler\"") == 3);
  CHECK(count("{\"model\": \"baseline\", \"sampler\": \"euler\"") == 3);
  CHECK(count("\"model\": \"baseline\", \"sampler\": \"tvm\"") == 0);
  CHECK(std::filesystem::exists(dir + "/sweep.sweep.png"));
}

TEST_CASE("TVM refusals: a flow-matching checkpoint with the tvm sampler and TVM with another path or model", "[tvm]") {
  const std::string dir = temp_dir("tvm-refusals");
  ProcResult r = run_lockstep("train --steps 5 --out " + dir + "/fm --set sample.num=10 --set train.eval_every=0");
  REQUIRE(r.exit_code == 0);
  r = run_lockstep("sample " + dir + "/fm --sampler tvm --steps 1 --out " + dir + "/x.npy");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("train.loss TVM"));
  r = run_lockstep("eval " + dir + "/fm --sampler tvm");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("not a flow map"));
  r = run_lockstep("train --steps 5 --out " + dir + "/bad --set train.loss=TVM --set path.name=vp_cosine --set path.t_min=1e-3");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("path.name"));
  r = run_lockstep("train --steps 5 --out " + dir + "/bad2 --set train.loss=TVM --set model.prediction=EPSILON");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("model.prediction"));
  r = run_lockstep("train --steps 5 --out " + dir + "/bad3 --set train.tvm.guidance_max=3");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.output, Catch::Contains("train.tvm.guidance_max"));
}

TEST_CASE("a resumed TVM run ends bitwise identical to the run that never stopped, target weights included", "[tvm][resume]") {
  const std::string dir = temp_dir("tvm-resume");
  const std::string args = " --steps 30 --set train.loss=TVM --set model.mlp.width=64 --set train.batch_size=64 --set train.log_every=5"
                           " --set train.checkpoint_every=15 --set train.keep_last=0 --set train.eval_every=0 --set sample.num=16"
                           " --set sample.sampler=tvm --set sample.steps=2 --set engine.threads=1";
  ProcResult r = run_lockstep("train" + args + " --out " + dir + "/ref");
  INFO(r.output);
  REQUIRE(r.exit_code == 0);
  std::filesystem::create_directories(dir + "/re/checkpoints");
  std::filesystem::copy_file(checkpoint_path(dir + "/ref", 15), checkpoint_path(dir + "/re", 15));
  for (const char* file : {"run_id", "config.textproto"}) std::filesystem::copy_file(dir + "/ref/" + file, dir + "/re/" + file);  // the run, copied
  r = run_lockstep("train --resume " + dir + "/re");
  REQUIRE(r.exit_code == 0);
  const CheckpointData a = load_checkpoint(checkpoint_path(dir + "/ref", 30)), b = load_checkpoint(checkpoint_path(dir + "/re", 30));
  CHECK(has_payload(a, "target"));
  REQUIRE(a.tensors.size() == b.tensors.size());
  for (size_t i = 0; i < a.tensors.size(); ++i) {
    INFO(a.tensors[i].first);
    CHECK(torch::equal(a.tensors[i].second, b.tensors[i].second));
  }
  CHECK(read_npy(dir + "/ref/samples.npy").data == read_npy(dir + "/re/samples.npy").data);
}
