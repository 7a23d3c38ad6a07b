// A model's 2-D convolution under the mixed-precision policy of the calling thread's AutocastScope (autocast.h).
//
// Contract: run_conv(conv, x) returns conv->forward(x), except while a CPU bfloat16 scope asks for float32
// arithmetic (bf16_convs_in_float32()), x and the weight are float32 or bfloat16 CPU tensors and the convolution
// pads with zeros by a fixed amount: then x, the weight and the bias are rounded to bfloat16 as autocast would
// round them, held in float32, convolved by LibTorch's float32 convolution with autocast off, and the result is
// rounded to bfloat16, the dtype autocast's convolution returns. Products of two bfloat16 numbers are exact in
// float32, so this is a bfloat16 convolution with float32 accumulation (what AVX512-BF16's dot-product instruction
// computes), in another summation order. It is written with differentiable LibTorch operations: reverse mode (to
// any order) and forward mode work as for any op, and the gradients pass back through the roundings as through
// autocast's casts (rounded to bfloat16, then in the dtype of x, of the weight, of the bias). The convolution
// saves the float32 copy of x for its backward pass, where autocast's saves the bfloat16 x: peak memory lies
// between bfloat16's and float32's (docs/images.md has the measurements).
#pragma once

#include <torch/torch.h>

namespace lockstep {

torch::Tensor run_conv(torch::nn::Conv2d& conv, const torch::Tensor& x);

}  // namespace lockstep
