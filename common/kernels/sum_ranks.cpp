#include "common/kernels/sum_ranks.h"

#include <algorithm>

#include "common/kernels/vec_math.h"

namespace lockstep {
namespace {

constexpr size_t kBlock = 512;  // 2 KiB on the stack: the partial sums stay in L1 between the inputs

// acc[i] = ((x[0][b + i] + x[1][b + i]) + x[2][b + i]) + ... for i < k
inline void sum_block(const float* const* x, int n, size_t b, size_t k, float* acc) {
  const float* x0 = x[0] + b;
  if (n == 1) {
    for (size_t i = 0; i < k; ++i) acc[i] = x0[i];
  } else {
    const float* x1 = x[1] + b;
    for (size_t i = 0; i < k; ++i) acc[i] = x0[i] + x1[i];
  }
  for (int q = 2; q < n; ++q) {
    const float* xq = x[q] + b;
    for (size_t i = 0; i < k; ++i) acc[i] += xq[i];
  }
}

}  // namespace

LS_VECTOR_KERNEL void sum_in_rank_order(const float* const* x, int n, size_t m, float* const* out, int outs) {
  float acc[kBlock];
  for (size_t b = 0; b < m; b += kBlock) {
    const size_t k = std::min(kBlock, m - b);
    sum_block(x, n, b, k, acc);
    for (int o = 0; o < outs; ++o) {
      float* dst = out[o] + b;
      for (size_t i = 0; i < k; ++i) dst[i] = acc[i];
    }
  }
}

}  // namespace lockstep
