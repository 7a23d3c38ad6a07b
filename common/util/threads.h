// Thread settings of one rank, for LibTorch (intra-op) and OpenBLAS.
//
// Contract: called once at start, before any tensor work. With `requested` = 0 each rank takes a fair share of
// the cores it may use, at least 1:
//   - SLURM_CPUS_PER_TASK when SLURM set it (srun/sbatch --cpus-per-task);
//   - else, when the process is bound to fewer CPUs than the machine has (mpirun --bind-to, srun --cpu-bind,
//     a cgroup cpuset), the CPUs of its affinity mask (the launcher already gave it its share);
//   - else the machine's hardware threads / ranks on this machine.
// Returns a one-line description for the start-up banner.
#pragma once

#include <cstdint>
#include <string>

namespace lockstep {

struct ThreadSetting {
  int threads;
  std::string description;
};

ThreadSetting configure_threads(uint32_t requested, int local_ranks);

}  // namespace lockstep
