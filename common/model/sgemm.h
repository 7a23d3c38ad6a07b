// Single-precision matrix products for the hand-written MLP passes (the fused training step, mlp_step.h, and the
// MLP's inference forward, mlp.h).
//
// Contract: sgemm(out, a, ta, b, tb, accumulate) writes out = op(a) op(b) (out += op(a) op(b) when accumulate), op the
// transpose where asked; float32 CPU tensors whose rows are contiguous (a row range of a contiguous matrix will do),
// out [m, n] contiguous. With oneDNN's header at build time (CMakeLists.txt: LOCKSTEP_HAVE_DNNL) the product runs
// through dnnl_sgemm, the JIT SGEMM of the oneDNN library LibTorch already loads (why: docs/performance.md); else
// through LibTorch (its BLAS). Uses LibTorch's intra-op threads. A failing dnnl_sgemm throws, naming the call.
#pragma once

#include <torch/torch.h>

namespace lockstep {

void sgemm(const torch::Tensor& out, const torch::Tensor& a, bool transpose_a, const torch::Tensor& b, bool transpose_b,
           bool accumulate = false);
// What sgemm multiplies with: "oneDNN (dnnl_sgemm)" or "LibTorch (BLAS)".
const char* sgemm_library();

}  // namespace lockstep
