// OpenBLAS's kernels for this CPU. A DYNAMIC_ARCH OpenBLAS picks its kernels when it loads, from a table of CPU
// models; one that does not know the CPU falls back to "Prescott", its generic SSE3 kernels. Debian 12's OpenBLAS
// 0.3.21 does that on Intel's Xeons after Sapphire Rapids (docs/performance.md has what it costs). OpenBLAS reads
// OPENBLAS_CORETYPE only while it loads, so the remedy is to run the program again with it set.
//
// Contract: blas_core_settings() is asked in main(), before any thread exists. When the loaded OpenBLAS reports the
// core Prescott, the CPU has AVX-512 (F, CD, BW, DQ, VL) or AVX2 with FMA, and OPENBLAS_CORETYPE is unset, it
// returns OPENBLAS_CORETYPE=SkylakeX or Haswell (the kernels OpenBLAS would pick for such a CPU it knew) and
// LOCKSTEP_BLAS_CORE_CHOSEN=<the core OpenBLAS had taken>, for restart_with() (restart_self.h); else nothing. A
// user's OPENBLAS_CORETYPE is always left alone. Off x86-64 there is never anything to do. No torch.
#pragma once

#include <string>
#include <vector>

#include "common/util/restart_self.h"

namespace lockstep {

std::vector<EnvSetting> blas_core_settings();
// For the banner and --version: "" when Lockstep changed nothing, else what it did.
std::string blas_core_note();

}  // namespace lockstep
