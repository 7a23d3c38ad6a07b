// bfloat16 convolutions in float32 arithmetic (common/model/conv.h, train.bf16_convolutions): the same bits as a
// float32 convolution of the rounded operands, gradients rounded and typed as autocast's, close to autocast's own
// bfloat16 convolution, forward mode, the policy's scope and its "auto" resolution, and a U-Net trained both ways.
#include <catch2/catch.hpp>

#include <tuple>

#include "common/model/autocast.h"
#include "common/model/conv.h"
#include "common/model/net.h"
#include "common/proto/config.pb.h"
#include "common/util/cpu_features.h"

using namespace lockstep;

namespace {

torch::Tensor rounded(const torch::Tensor& t) { return t.to(torch::kBFloat16).to(torch::kFloat32); }

torch::nn::Conv2d make_conv(int64_t in, int64_t out, int64_t stride) {
  torch::manual_seed(11);
  return torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}

// the largest |a - b| against the largest |b|
double max_rel(const torch::Tensor& a, const torch::Tensor& b) {
  return ((a.to(torch::kFloat32) - b.to(torch::kFloat32)).abs().max() / b.to(torch::kFloat32).abs().max()).item<double>();
}

}  // namespace

TEST_CASE("a bf16 convolution in float32 arithmetic is the float32 convolution of the rounded operands", "[models][conv]") {
  for (const int64_t stride : {1, 2}) {
    torch::nn::Conv2d conv = make_conv(8, 16, stride);
    for (const bool bf16_input : {true, false}) {
      torch::manual_seed(12);
      const torch::Tensor x0 = torch::randn({4, 8, 12, 12});
      const torch::Tensor x = (bf16_input ? x0.to(torch::kBFloat16) : x0).requires_grad_(true);
      torch::Tensor y;
      {
        const AutocastScope scope(true, false, Bf16Convs::kFloat32);
        REQUIRE(bf16_convs_in_float32());
        y = run_conv(conv, x);
      }
      REQUIRE_FALSE(bf16_convs_in_float32());
      CHECK(y.scalar_type() == torch::kBFloat16);
      // on these small sums both paths mostly give the same bits: the last node tells which one ran
      CHECK_THAT(y.grad_fn()->name(), Catch::Contains("ToCopy"));
      // the reference, with autocast off: float32 operands holding bfloat16 values
      const torch::Tensor xr = rounded(x0.detach()).requires_grad_(true), wr = rounded(conv->weight.detach()).requires_grad_(true),
                          br = rounded(conv->bias.detach()).requires_grad_(true);
      const torch::Tensor yr = torch::conv2d(xr, wr, br, stride, 1);
      CHECK(torch::equal(y, yr.to(torch::kBFloat16)));

      torch::manual_seed(13);
      const torch::Tensor dy = torch::randn(yr.sizes()).to(torch::kBFloat16);
      conv->zero_grad();
      y.backward(dy);
      yr.backward(dy.to(torch::kFloat32));
      // the gradients come back through the roundings as through autocast's casts: rounded to bfloat16, then in
      // the dtype of x, of the weight and of the bias
      CHECK(x.grad().scalar_type() == x.scalar_type());
      CHECK(conv->weight.grad().scalar_type() == torch::kFloat32);
      CHECK(torch::equal(x.grad(), rounded(xr.grad()).to(x.scalar_type())));
      CHECK(torch::equal(conv->weight.grad(), rounded(wr.grad())));
      CHECK(torch::equal(conv->bias.grad(), rounded(br.grad())));
    }
  }
}

TEST_CASE("a bf16 convolution in float32 arithmetic agrees with autocast's bfloat16 convolution", "[models][conv]") {
  torch::nn::Conv2d conv = make_conv(16, 16, 1);
  torch::manual_seed(14);
  const torch::Tensor x0 = torch::randn({4, 16, 10, 10}).to(torch::kBFloat16);
  const torch::Tensor dy = torch::randn({4, 16, 10, 10}).to(torch::kBFloat16);
  auto run = [&](Bf16Convs mode) {
    const torch::Tensor x = x0.clone().requires_grad_(true);
    conv->zero_grad();
    torch::Tensor y;
    {
      const AutocastScope scope(true, false, mode);
      y = run_conv(conv, x);
    }
    y.backward(dy);
    return std::make_tuple(y.detach(), x.grad().clone(), conv->weight.grad().clone(), conv->bias.grad().clone());
  };
  const auto [y32, dx32, dw32, db32] = run(Bf16Convs::kFloat32);
  const auto [y16, dx16, dw16, db16] = run(Bf16Convs::kNative);
  CHECK(y16.scalar_type() == torch::kBFloat16);
  {
    const AutocastScope scope(true, false, Bf16Convs::kNative);
    CHECK_THAT(run_conv(conv, x0.clone().requires_grad_(true)).grad_fn()->name(), Catch::Contains("Convolution"));  // autocast's own
  }
  CHECK(dx16.scalar_type() == torch::kBFloat16);
  // 144 products a sum: both accumulate in float32 in different orders, then round to bfloat16 (8 bits: 2^-8
  // relative), so nearly all of them agree to the bit
  CHECK(max_rel(y32, y16) < 1.0 / 64);
  CHECK(max_rel(dx32, dx16) < 1.0 / 64);
  CHECK(max_rel(dw32, dw16) < 1.0 / 64);
  CHECK(max_rel(db32, db16) < 1.0 / 64);
}

TEST_CASE("a bf16 convolution in float32 arithmetic carries forward-mode tangents", "[models][conv]") {
  torch::nn::Conv2d conv = make_conv(4, 6, 1);
  torch::manual_seed(15);
  const torch::Tensor x = torch::randn({2, 4, 6, 6}), dx = torch::randn({2, 4, 6, 6});
  const AutocastScope scope(true, false, Bf16Convs::kFloat32);
  const uint64_t level = torch::autograd::forward_ad::enter_dual_level();
  torch::Tensor primal, tangent;
  std::tie(primal, tangent) = at::_unpack_dual(run_conv(conv, at::_make_dual(x, dx, level)), level);
  const torch::Tensor tangent_out = tangent.defined() ? tangent.to(torch::kFloat32) : torch::Tensor();
  torch::autograd::forward_ad::exit_dual_level(level);
  REQUIRE(tangent_out.defined());
  // linear in x: the tangent is the convolution of the rounded tangent without the bias, rounded
  const c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
  const torch::Tensor expect = torch::conv2d(rounded(dx), rounded(conv->weight.detach()), {}, 1, 1);
  CHECK(max_rel(tangent_out, expect) < 1.0 / 128);
}

TEST_CASE("the float32 policy holds only inside its CPU scope, and auto follows the CPU", "[models][conv]") {
  torch::nn::Conv2d conv = make_conv(4, 4, 1);
  const torch::Tensor x = torch::randn({1, 4, 5, 5});
  CHECK(torch::equal(run_conv(conv, x), conv->forward(x)));  // no scope: float32
  {
    const AutocastScope scope(false, false, Bf16Convs::kFloat32);  // fp32 training
    CHECK_FALSE(bf16_convs_in_float32());
    CHECK(run_conv(conv, x).scalar_type() == torch::kFloat32);
  }
  {
    const AutocastScope scope(true, false, Bf16Convs::kFloat32);
    const torch::Tensor x64 = x.to(torch::kFloat64);
    torch::nn::Conv2d conv64 = make_conv(4, 4, 1);
    conv64->to(torch::kFloat64);
    CHECK(torch::equal(run_conv(conv64, x64), conv64->forward(x64)));  // float64: autocast leaves it alone, and so does run_conv
    CHECK(run_conv(conv64, x64).scalar_type() == torch::kFloat64);
  }
  CHECK(bf16_convs_from_config("native") == Bf16Convs::kNative);
  CHECK(bf16_convs_from_config("float32") == Bf16Convs::kFloat32);
  CHECK(bf16_convs_from_config("auto") == (cpu_bf16_outpaces_fp32() ? Bf16Convs::kNative : Bf16Convs::kFloat32));
}

TEST_CASE("a U-Net's gradients in bf16 with float32 convolution arithmetic stay close to native bf16 and to float32", "[models][conv]") {
  ModelConfig m;
  m.set_name("unet");
  m.mutable_unet()->set_channels(16);
  m.mutable_unet()->set_channels_last(false);
  auto net = make_net(m, {1, 16, 16}, 5, 10);
  {
    torch::NoGradGuard no_grad;
    torch::manual_seed(16);
    for (torch::Tensor& p : net->parameters()) p.normal_(0.0, 0.1);
  }
  const torch::Tensor x = torch::randn({8, 256}), t = torch::rand({8}), y = torch::arange(8) % 10, target = torch::randn({8, 256});
  auto grads = [&](bool bf16, Bf16Convs mode) {
    net->zero_grad();
    {
      const AutocastScope scope(bf16, false, mode);
      (net->forward(x, t, y) - target).pow(2).sum().backward();
    }
    std::vector<torch::Tensor> g;
    for (const torch::Tensor& p : net->parameters()) g.push_back(p.grad().flatten());
    return torch::cat(g);
  };
  const torch::Tensor g32 = grads(false, Bf16Convs::kNative), native = grads(true, Bf16Convs::kNative), emulated = grads(true, Bf16Convs::kFloat32);
  const double to_fp32 = ((emulated - g32).norm() / g32.norm()).item<double>();
  const double to_native = ((emulated - native).norm() / native.norm()).item<double>();
  CHECK(to_fp32 < 0.05);  // bfloat16 keeps 8 bits of mantissa: about 0.4% per operation
  CHECK(to_native < 0.05);
  CHECK(to_fp32 > 0.0);  // it did round to bfloat16
  CHECK(torch::equal(grads(true, Bf16Convs::kFloat32), emulated));  // deterministic
}
