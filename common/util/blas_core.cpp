#include "common/util/blas_core.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace lockstep {
namespace {

constexpr const char* kChosenVar = "LOCKSTEP_BLAS_CORE_CHOSEN";
std::string g_exec_failure;  // why the exec failed, for blas_core_note()

// The kernels OpenBLAS would pick for a CPU of these features had it known the model; nullptr: none better
// than the generic ones.
const char* core_for_this_cpu() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return nullptr;  // Prescott is an x86 core: OpenBLAS never falls back to it elsewhere
}

}  // namespace

void choose_blas_core(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's choice, or ours after the exec
  using CoreFn = char* (*)();
  const auto corename = reinterpret_cast<CoreFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  if (!corename) return;  // not OpenBLAS
  const char* core = corename();
  if (!core || std::strcmp(core, "Prescott") != 0) return;
  const char* better = core_for_this_cpu();
  if (!better) return;
  setenv("OPENBLAS_CORETYPE", better, 1);
  setenv(kChosenVar, core, 1);
  execv("/proc/self/exe", argv);
  // still here: the exec failed; go on with the generic kernels and say so
  g_exec_failure = std::string("OpenBLAS took this CPU for ") + core + " (its generic kernels); running again with OPENBLAS_CORETYPE=" +
                   better + " failed: execv(/proc/self/exe): " + std::strerror(errno) + "; set OPENBLAS_CORETYPE=" + better +
                   " yourself";
  unsetenv("OPENBLAS_CORETYPE");
  unsetenv(kChosenVar);
}

std::string blas_core_note() {
  if (!g_exec_failure.empty()) return g_exec_failure;
  const char* was = std::getenv(kChosenVar);
  const char* now = std::getenv("OPENBLAS_CORETYPE");
  if (!was || !now) return "";
  return std::string("OPENBLAS_CORETYPE=") + now + " set by Lockstep: this OpenBLAS took the CPU for " + was + " (its generic kernels)";
}

}  // namespace lockstep
