// The U-Net's "group norm, then SiLU" (or the norm alone), fused for bfloat16 activations on the CPU.
//
// Contract: norm_act(norm, x, silu, allow_fused, shift) returns act(norm(x + shift)) with the GroupNorm module's groups,
// eps and affine parameters; shift [n, C] (optional) is added to every pixel of its channel (the U-Net's time
// embedding; fused, the sum is not rounded to bfloat16, and the shift gets its gradient). When allow_fused, the fast
// path kGroupNormSilu is on (common/kernels/fast_paths.h), x is a contiguous NCHW bfloat16 CPU tensor (activations
// under bf16 autocast) and the norm is affine, it runs common/kernels/group_norm_silu in one autograd node: float32 statistics and
// arithmetic, bfloat16 output (what the next convolution takes anyway), bfloat16 input gradient, float32 gamma and
// beta gradients summed over the batch in a fixed order (deterministic for any thread count). That node's
// backward is first-order only: callers that differentiate twice or in forward mode (the TVM loss's flow maps)
// pass allow_fused = false. Otherwise it is the unfused path: group norm in float32 (LibTorch 1.13's CPU group
// norm takes no bfloat16 input with float32 weights), then torch::silu; float32 output.
#pragma once

#include <torch/torch.h>

namespace lockstep {

torch::Tensor norm_act(torch::nn::GroupNorm& norm, const torch::Tensor& x, bool silu, bool allow_fused, const torch::Tensor& shift = {});

}  // namespace lockstep
