// The coupling of a batch (train.coupling): which source point each data point is paired with.
//
// Contract: couple() returns, for data rows z [n, d] and source rows x0 [n, d] (float32, row-major), the index of
// the source row paired with each data row: the identity (INDEPENDENT), the optimal assignment of squared Euclidean
// cost (OT_EXACT), or for OT_SINKHORN a draw from the entropic plan's row j for each data row j (keyed by
// (seed, tick, first_index + j), so with replacement). A pure function of its inputs: every rank that solves the
// same global batch gets the same pairs. No torch.
#pragma once

#include <cstdint>
#include <vector>

namespace lockstep {

struct CouplingSpec {
  int kind = 0;  // CouplingConfig::Kind
  double epsilon = 0.05;
  int iterations = 1000;
  bool per_rank = false;
  bool coordinator = false;  // train.coupling.solve_on COORDINATOR: rank 0 solves, BatchMaker broadcasts the pairs
};

std::vector<int64_t> couple(const CouplingSpec& spec, const float* z, const float* x0, int64_t n, int64_t d, uint64_t seed,
                            uint64_t tick, uint64_t first_index);

}  // namespace lockstep
