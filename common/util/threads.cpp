#include "common/util/threads.h"

#include <torch/torch.h>

#include <thread>

#include "common/util/blas_info.h"

namespace lockstep {

ThreadSetting configure_threads(uint32_t requested, int local_ranks) {
  const int cores = std::max(1u, std::thread::hardware_concurrency());
  const int n = requested > 0 ? static_cast<int>(requested) : std::max(1, cores / std::max(1, local_ranks));
  torch::set_num_threads(n);
  const bool blas = set_blas_threads(n);
  std::string desc = std::to_string(n) + " thread" + (n == 1 ? "" : "s") + " (LibTorch" + (blas ? " and OpenBLAS" : "") +
                     "; " + (requested > 0 ? "engine.threads" : std::to_string(cores) + " cores / " +
                                                                  std::to_string(local_ranks) + " local rank" +
                                                                  (local_ranks == 1 ? "" : "s")) + ")";
  return {n, desc};
}

}  // namespace lockstep
