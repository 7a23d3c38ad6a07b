// The element-wise sum of the shared-memory all-reduce (common/comm/shm_allreduce.h), vectorized.
//
// Contract: sum_in_rank_order(x, n, m, out, outs) writes out[k][i] = ((x[0][i] + x[1][i]) + x[2][i]) + ... +
// x[n-1][i] for every k < outs and i < m, in that order (the same bits as the scalar loop: IEEE additions, element
// by element, denormals kept), for n >= 1. Outputs may be inputs themselves (the all-reduce sums in place, and into
// every rank's shared gradient buffer): the kernel reads every input of a block before it writes that block;
// otherwise nothing overlaps.
#pragma once

#include <cstddef>

namespace lockstep {

void sum_in_rank_order(const float* const* x, int n, size_t m, float* const* out, int outs);

}  // namespace lockstep
