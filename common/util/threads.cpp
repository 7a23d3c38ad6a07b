#include "common/util/threads.h"

#include <torch/torch.h>

#include <sched.h>

#include <cstdlib>
#include <thread>

#include "common/util/blas_info.h"

namespace lockstep {

namespace {

// The CPUs this process may run on (its affinity mask), or 0 when unknown.
int affinity_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
  return CPU_COUNT(&set);
}

}  // namespace

ThreadSetting configure_threads(uint32_t requested, int local_ranks) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int bound = affinity_cpus();
  const char* slurm = std::getenv("SLURM_CPUS_PER_TASK");
  const int slurm_cpus = slurm ? std::atoi(slurm) : 0;
  int n;
  std::string why;
  if (requested > 0) {
    n = static_cast<int>(requested);
    why = "engine.threads";
  } else if (slurm_cpus > 0) {
    n = slurm_cpus;
    why = "SLURM_CPUS_PER_TASK";
  } else if (bound > 0 && bound < cores) {
    n = bound;
    why = "bound to " + std::to_string(bound) + " of " + std::to_string(cores) + " CPUs";
  } else {
    n = std::max(1, cores / std::max(1, local_ranks));
    why = std::to_string(cores) + " cores / " + std::to_string(local_ranks) + " local rank" + (local_ranks == 1 ? "" : "s");
  }
  torch::set_num_threads(n);
  const bool blas = set_blas_threads(n);
  return {n, std::to_string(n) + " thread" + (n == 1 ? "" : "s") + " (LibTorch" + (blas ? " and OpenBLAS" : "") + "; " + why + ")"};
}

}  // namespace lockstep
