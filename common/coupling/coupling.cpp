#include "common/coupling/coupling.h"

#include <numeric>

#include "common/coupling/assignment.h"
#include "common/rng/philox.h"
#include "common/util/error.h"

namespace lockstep {

std::vector<int64_t> couple(const CouplingSpec& spec, const float* z, const float* x0, int64_t n, int64_t d, uint64_t seed,
                            uint64_t tick, uint64_t first_index) {
  std::vector<int64_t> partner(static_cast<size_t>(n));
  std::iota(partner.begin(), partner.end(), 0);
  if (spec.kind == 0 || n <= 1) return partner;
  const std::vector<double> cost = squared_distances(z, x0, n, d);
  if (spec.kind == 1) return assignment_solve(cost, n);
  LS_CHECK(spec.kind == 2, "couple: unknown coupling kind " << spec.kind);
  // marginals to 0.1% of their 1/n: enough to draw partners from
  const SinkhornResult r = sinkhorn_plan(cost, n, spec.epsilon, spec.iterations, 1e-3 / static_cast<double>(n));
  for (int64_t j = 0; j < n; ++j) {
    const double* row = r.plan.data() + j * n;
    double total = 0;
    for (int64_t k = 0; k < n; ++k) total += row[k];
    CounterRng rng(seed, tick, first_index + static_cast<uint64_t>(j), Stream::kCoupling);
    double u = rng.uniform() * total, acc = 0;
    int64_t k = 0;
    for (; k + 1 < n; ++k) {
      acc += row[k];
      if (u < acc) break;
    }
    partner[j] = k;
  }
  return partner;
}

}  // namespace lockstep
