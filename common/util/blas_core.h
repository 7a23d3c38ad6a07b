// OpenBLAS's kernels for this CPU. A DYNAMIC_ARCH OpenBLAS picks its kernels when it loads, from a table of CPU
// models; one that does not know the CPU falls back to "Prescott", its generic SSE3 kernels. Debian 12's OpenBLAS
// 0.3.21 does that on Intel's Xeons after Sapphire Rapids (docs/performance.md has what it costs). OpenBLAS reads
// OPENBLAS_CORETYPE only while it loads, so the remedy is to run the program again with it set.
//
// Contract: choose_blas_core(argv) is called first in main(), before any thread exists. When the loaded OpenBLAS
// reports the core Prescott, the CPU has AVX-512 (F, CD, BW, DQ, VL) or AVX2 with FMA, and OPENBLAS_CORETYPE is
// unset, it sets OPENBLAS_CORETYPE to SkylakeX or Haswell (the kernels OpenBLAS would pick for such a CPU it knew),
// sets LOCKSTEP_BLAS_CORE_CHOSEN to the core OpenBLAS had taken, and executes /proc/self/exe with the same
// arguments and environment (the same process: mpirun, srun and SLURM see no difference). It returns when there is
// nothing to do or the exec failed (blas_core_note() then says so). A user's OPENBLAS_CORETYPE is always left alone.
// Off x86-64 there is never anything to do. No torch.
#pragma once

#include <string>

namespace lockstep {

void choose_blas_core(char** argv);
// For the banner and --version: "" when Lockstep changed nothing, else what it did (or why it could not).
std::string blas_core_note();

}  // namespace lockstep
