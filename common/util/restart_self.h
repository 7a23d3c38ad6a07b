// Running this program again, in the same process, with some environment variables set: how Lockstep applies the
// settings that libraries read only while they load (OpenBLAS's kernels, blas_core.h; glibc's malloc tunables,
// heap_pages.h).
//
// Contract: restart_with(argv, settings) is called from main() before any thread exists. With settings empty it does
// nothing. Otherwise it sets them and executes /proc/self/exe with the same arguments and the new environment (the
// same pid: mpirun, srun and SLURM see no difference). It returns only when the exec failed: it then puts the
// environment back as it was and keeps the reason for restart_failure(). The settings' deciders must see their own
// settings in the environment of the new run, so that it never runs itself again. No torch.
#pragma once

#include <string>
#include <vector>

namespace lockstep {

struct EnvSetting {
  std::string name;
  std::string value;
};

void restart_with(char** argv, const std::vector<EnvSetting>& settings);
// "" when nothing failed; else which settings could not be applied, and why (for the banner and --version).
std::string restart_failure();

}  // namespace lockstep
