// Group normalization followed by SiLU, on bfloat16 activations with float32 statistics and affine parameters,
// forward and backward, for one item of a batch: the U-Net's norm-then-activate under bf16 mixed precision
// (common/model/norm_act.h) in one pass over memory instead of a cast, a norm, an activation and a cast back.
//
// Contract: x is one item in NCHW order, `channels` planes of `hw` numbers each, bfloat16 stored as its 16 bits;
// `groups` divides `channels`; shift (may be null: zeros) holds one float32 per channel, added to every number of
// its plane before the norm (the U-Net's time embedding; the sum x + shift is never rounded). Forward computes per
// group g of u = x + shift the mean and rstd = 1 / sqrt(var + eps) (biased variance, two passes in float32 with
// float64 sums of the lanes: torch.group_norm's definition), then y = act(gamma_c (u - mean) rstd + beta_c),
// act = SiLU when `silu` else the identity, rounded to bfloat16 to nearest even; mean and rstd get `groups`
// numbers each. Backward takes dy (bfloat16, the gradient at y) and the saved mean and rstd, and writes du
// (bfloat16, into dx), dshift (float32 per channel: the sum of the channel's unrounded du; skipped when null) and
// this item's contributions to dgamma and dbeta (float32, `channels` each; the caller sums them over the batch
// in a fixed order). scratch holds channels/groups*hw floats. No allocation, no threads: the caller runs items
// in parallel.
#pragma once

#include <cstdint>

namespace lockstep {

struct NormActShape {
  int64_t channels = 0, hw = 0, groups = 1;
  float eps = 1e-5f;
  bool silu = true;
};

void group_norm_silu_forward(const NormActShape& s, const uint16_t* x, const float* shift, const float* gamma, const float* beta,
                             uint16_t* y, float* mean, float* rstd);
void group_norm_silu_backward(const NormActShape& s, const uint16_t* x, const float* shift, const uint16_t* dy, const float* gamma,
                              const float* beta, const float* mean, const float* rstd, uint16_t* dx, float* dshift, float* dgamma,
                              float* dbeta, float* scratch);

// bfloat16 <-> float32 (round to nearest even; NaN stays NaN), as the kernels do them.
float bf16_to_float(uint16_t b);
uint16_t float_to_bf16(float f);

}  // namespace lockstep
