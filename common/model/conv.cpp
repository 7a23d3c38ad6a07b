#include "common/model/conv.h"

#include <c10/core/impl/LocalDispatchKeySet.h>

#include "common/model/autocast.h"

namespace lockstep {
namespace {

// t's values rounded to bfloat16, in float32 (a bfloat16 tensor is only widened)
torch::Tensor bf16_values(const torch::Tensor& t) {
  return t.scalar_type() == torch::kBFloat16 ? t.to(torch::kFloat32) : t.to(torch::kBFloat16).to(torch::kFloat32);
}

}  // namespace

torch::Tensor run_conv(torch::nn::Conv2d& conv, const torch::Tensor& x) {
  const auto& o = conv->options;  // ConvNdOptions<2>
  const auto* pad = c10::get_if<torch::ExpandingArray<2>>(&o.padding());
  const bool zeros = c10::get_if<torch::enumtype::kZeros>(&o.padding_mode()) != nullptr;
  // autocast rounds only float32 (and half) operands to bfloat16; anything else is left to it
  const auto cast_by_autocast = [](const torch::Tensor& t) { return t.scalar_type() == torch::kFloat32 || t.scalar_type() == torch::kBFloat16; };
  if (!bf16_convs_in_float32() || !x.device().is_cpu() || pad == nullptr || !zeros || !cast_by_autocast(x) ||
      !cast_by_autocast(conv->weight))
    return conv->forward(x);
  const torch::Tensor bias = conv->bias.defined() ? bf16_values(conv->bias) : torch::Tensor();
  torch::Tensor y;
  {
    const c10::impl::ExcludeDispatchKeyGuard no_autocast(c10::DispatchKey::AutocastCPU);
    y = torch::conv2d(bf16_values(x), bf16_values(conv->weight), bias, o.stride(), *pad, o.dilation(), o.groups());
  }
  return y.to(torch::kBFloat16);
}

}  // namespace lockstep
