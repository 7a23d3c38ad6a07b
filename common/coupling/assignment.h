// Exact and entropic optimal assignment between two equal-size point sets (minibatch optimal transport).
//
// Contract: cost is a dense row-major n x n matrix of doubles. assignment_solve() returns the permutation p
// (row i is matched to column p[i]) minimising sum_i cost[i][p[i]]: the shortest-augmenting-path Hungarian method
// with potentials, O(n^3), exact in double arithmetic; ties are broken by the lowest index, so the result is a pure
// function of the matrix. sinkhorn_plan() returns the entropic plan P (rows and columns summing to 1/n) of
// min <P, C> - eps H(P) by log-domain Sinkhorn iterations on C / mean(C), to a marginal error of `tolerance`
// or `max_iterations`. Both are single-threaded plain loops: the same input gives the same output bit for bit on
// any rank and thread count (the coupling of a global batch is solved redundantly on every rank). No torch.
#pragma once

#include <cstdint>
#include <vector>

namespace lockstep {

std::vector<int64_t> assignment_solve(const std::vector<double>& cost, int64_t n);

struct SinkhornResult {
  std::vector<double> plan;  // n x n, row-major
  int iterations = 0;
  double marginal_error = 0;  // max |row sum - 1/n| after the last column update
};
SinkhornResult sinkhorn_plan(const std::vector<double>& cost, int64_t n, double epsilon, int max_iterations, double tolerance = 1e-9);

// Squared Euclidean costs between rows of a [n, d] and b [n, d] (float32, row-major), in double.
std::vector<double> squared_distances(const float* a, const float* b, int64_t n, int64_t d);

}  // namespace lockstep
