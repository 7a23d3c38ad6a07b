// The element-wise sum of the all-reduce (comm/shm_allreduce.h), vectorized.
//
// Contract: sum_in_rank_order(x, n, m, out, outs) writes out[k][i] = ((x[0][i] + x[1][i]) + x[2][i]) + ... +
// x[n-1][i] for every k < outs and i < m, in that order (the same bits as the scalar loop: IEEE additions, element
// by element, denormals kept), for n >= 1. Outputs may be inputs themselves (the all-reduce sums in place, and into
// every rank's shared gradient buffer): the kernel reads every input of a block before it writes that block;
// otherwise nothing overlaps.
// sum_squares_in_rank_order(x, n, m, out) writes the same sums into out alone and returns the sum of their squares,
// accumulated in double in a fixed order (the same bits for the same inputs, whatever the caller): the sharded
// optimizer step's share of the gradient norm (worker/sharded_step.h).
#pragma once

#include <cstddef>

namespace lockstep {

void sum_in_rank_order(const float* const* x, int n, size_t m, float* const* out, int outs);
double sum_squares_in_rank_order(const float* const* x, int n, size_t m, float* out);

}  // namespace lockstep
