// The fused group norm + SiLU node (common/model/norm_act.h) against the unfused float32 path: outputs, input,
// shift and parameter gradients, with and without the SiLU and the per-channel shift, several shapes; bitwise the same for 1 and 2 threads;
// which inputs take which path; and a whole U-Net's bf16 gradients against its float32 ones.
#include <catch2/catch.hpp>

#include <algorithm>

#include "common/kernels/fast_paths.h"
#include "common/model/autocast.h"
#include "common/model/net.h"
#include "common/model/norm_act.h"
#include "common/proto/config.pb.h"

using namespace lockstep;

namespace {

struct Grads {
  torch::Tensor y, dx, dgamma, dbeta, dshift;
};

// act(norm(x)) and the gradients of sum(act(norm(x)) * w) for a bf16 leaf x (w rounded to bf16, so that both
// paths see the same output gradient)
Grads run(torch::nn::GroupNorm& norm, const torch::Tensor& x0, const torch::Tensor& w, bool silu, bool fused,
          const torch::Tensor& shift0 = {}) {
  const torch::Tensor x = x0.detach().clone().requires_grad_(true);
  const torch::Tensor shift = shift0.defined() ? shift0.detach().clone().requires_grad_(true) : torch::Tensor();
  for (torch::Tensor p : norm->parameters()) p.mutable_grad() = torch::Tensor();
  Grads g;
  g.y = norm_act(norm, x, silu, fused, shift);
  (g.y.to(torch::kFloat32) * w).sum().backward();
  g.dx = x.grad().to(torch::kFloat32);
  if (shift.defined()) g.dshift = shift.grad().to(torch::kFloat32);
  g.dgamma = norm->weight.grad().clone();
  g.dbeta = norm->bias.grad().clone();
  return g;
}

double max_abs(const torch::Tensor& t) { return t.abs().max().item<double>(); }

}  // namespace

TEST_CASE("fused group norm + SiLU matches the float32 path to bfloat16 rounding", "[models][kernels]") {
  struct Case {
    int64_t n, c, h, w, groups;
  };
  for (const Case& k : {Case{3, 32, 28, 28, 8}, Case{2, 64, 7, 7, 8}, Case{5, 6, 3, 5, 3}, Case{1, 4, 1, 1, 1}}) {
    for (int variant = 0; variant < 3; ++variant) {
      const bool silu = variant != 1, with_shift = variant == 2;
      INFO("shape " << k.n << "x" << k.c << "x" << k.h << "x" << k.w << " groups " << k.groups << " silu " << silu << " shift " << with_shift);
      torch::manual_seed(11);
      torch::nn::GroupNorm norm(torch::nn::GroupNormOptions(k.groups, k.c));
      {
        torch::NoGradGuard no_grad;
        norm->weight.normal_(1.0, 0.3);
        norm->bias.normal_(0.0, 0.5);
      }
      const torch::Tensor x = (torch::randn({k.n, k.c, k.h, k.w}) * 3.0 + 1.5).to(torch::kBFloat16);
      const torch::Tensor w = torch::randn({k.n, k.c, k.h, k.w}).to(torch::kBFloat16).to(torch::kFloat32);
      const torch::Tensor shift = with_shift ? torch::randn({k.n, k.c}).to(torch::kBFloat16) : torch::Tensor();
      // the reference with a shift adds it in float32 (x + shift is exact there), as the fused node does; the
      // unfused bfloat16 path would round the sum first
      const Grads f = run(norm, x, w, silu, true, shift),
                  u = with_shift ? run(norm, x.to(torch::kFloat32), w, silu, false, shift.to(torch::kFloat32)) : run(norm, x, w, silu, false);
      CHECK(f.y.scalar_type() == torch::kBFloat16);
      CHECK(u.y.scalar_type() == torch::kFloat32);
      if (with_shift) CHECK(f.dshift.defined());
      // the output: the float32 result rounded once to bfloat16 (8 significant bits: 2^-8 relative), the
      // statistics differing in the last float bits
      const torch::Tensor yu = u.y.to(torch::kBFloat16).to(torch::kFloat32), yf = f.y.to(torch::kFloat32);
      CHECK(((yf - yu).abs() <= yu.abs() * (1.0 / 128) + 1e-3 * max_abs(yu)).all().item<bool>());
      // gradients: float32 sums over each group or the batch; dx rounded to bfloat16 by both paths
      CHECK(((f.dx - u.dx).abs() <= u.dx.abs() * (1.0 / 128) + 2e-3 * max_abs(u.dx)).all().item<bool>());
      CHECK(max_abs(f.dgamma - u.dgamma) <= 1e-4 * max_abs(u.dgamma) + 1e-6);
      CHECK(max_abs(f.dbeta - u.dbeta) <= 1e-4 * max_abs(u.dbeta) + 1e-6);
      if (with_shift) {  // sums of dx over each plane, from unrounded dx; returned in the shift's type (bfloat16)
        CHECK(((f.dshift - u.dshift).abs() <= u.dshift.abs() * (1.0 / 128) + 1e-3 * max_abs(u.dshift)).all().item<bool>());
      }
    }
  }
}

TEST_CASE("fused group norm + SiLU is bitwise the same for any thread count", "[models][kernels]") {
  torch::manual_seed(3);
  torch::nn::GroupNorm norm(torch::nn::GroupNormOptions(8, 32));
  const torch::Tensor x = torch::randn({16, 32, 14, 14}).to(torch::kBFloat16), w = torch::randn({16, 32, 14, 14});
  const int threads = at::get_num_threads();
  at::set_num_threads(1);
  const Grads one = run(norm, x, w, true, true);
  at::set_num_threads(2);
  const Grads two = run(norm, x, w, true, true);
  at::set_num_threads(threads);
  CHECK(torch::equal(one.y, two.y));
  CHECK(torch::equal(one.dx, two.dx));
  CHECK(torch::equal(one.dgamma, two.dgamma));
  CHECK(torch::equal(one.dbeta, two.dbeta));
}

TEST_CASE("only contiguous bfloat16 NCHW activations take the fused path", "[models][kernels]") {
  torch::nn::GroupNorm norm(torch::nn::GroupNormOptions(2, 4));
  const torch::Tensor x = torch::randn({2, 4, 3, 3});
  CHECK(norm_act(norm, x, true, true).scalar_type() == torch::kFloat32);                        // float32 in
  CHECK(norm_act(norm, x.to(torch::kBFloat16), true, false).scalar_type() == torch::kFloat32);  // not allowed
  const torch::Tensor last = x.to(torch::kBFloat16).contiguous(at::MemoryFormat::ChannelsLast);
  CHECK(norm_act(norm, last, true, true).scalar_type() == torch::kFloat32);  // channels-last
  CHECK(norm_act(norm, x.to(torch::kBFloat16), true, true).scalar_type() == torch::kBFloat16);
}

// With the CPU fast paths off (engine.cpu_fast_paths false) the same bf16 run takes the unfused norms: within the
// same bound of float32, and of the fused run.
TEST_CASE("a U-Net's bf16 gradients through the fused norms stay close to its float32 gradients and to the unfused ones", "[models][fast_paths]") {
  ModelConfig m;
  m.set_name("unet");
  m.mutable_unet()->set_channels(16);
  m.mutable_unet()->set_channels_last(false);  // NCHW: the fused path
  auto net = make_net(m, {1, 16, 16}, 5);
  {
    torch::NoGradGuard no_grad;
    torch::manual_seed(6);
    for (torch::Tensor& p : net->parameters()) p.normal_(0.0, 0.1);
  }
  const torch::Tensor x = torch::randn({8, 256}), t = torch::rand({8}), target = torch::randn({8, 256});
  auto grads = [&](bool bf16) {
    net->zero_grad();
    {
      const AutocastScope scope(bf16, false);
      (net->forward(x, t) - target).pow(2).sum().backward();
    }
    std::vector<torch::Tensor> g;
    for (const torch::Tensor& p : net->parameters()) g.push_back(p.grad().flatten());
    return torch::cat(g);
  };
  const torch::Tensor g32 = grads(false), g16 = grads(true);
  const double rel = ((g16 - g32).norm() / g32.norm()).item<double>();
  CHECK(rel < 0.05);  // bfloat16 keeps 8 bits of mantissa: about 0.4% per operation
  CHECK(rel > 0.0);
  const bool initial = set_cpu_fast_paths(false);
  const torch::Tensor unfused = grads(true);
  set_cpu_fast_paths(initial);
  const double rel_unfused = ((unfused - g32).norm() / g32.norm()).item<double>(), apart = ((unfused - g16).norm() / g32.norm()).item<double>();
  CHECK(rel_unfused < 0.05);
  CHECK(apart < 0.05);
  CHECK(apart > 0.0);  // the switch took the other path
  Config cfg;  // and the U-Net names the fused node among its fast paths where it applies
  cfg.mutable_train()->set_precision("bf16_mixed");
  const std::vector<FastPath> paths = net->fast_paths(cfg, false);
  CHECK(std::find(paths.begin(), paths.end(), FastPath::kGroupNormSilu) != paths.end());
}
