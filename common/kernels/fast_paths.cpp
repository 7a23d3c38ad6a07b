#include "common/kernels/fast_paths.h"

#include <atomic>

#include "common/kernels/silu_rows.h"

namespace lockstep {
namespace {

std::atomic<bool> g_on{true};

}  // namespace

const std::vector<FastPath>& all_fast_paths() {
  static const std::vector<FastPath> all = {FastPath::kMlpStep, FastPath::kMlpInference, FastPath::kTimeEmbedding, FastPath::kAdam,
                                            FastPath::kGroupNormSilu};
  return all;
}

const char* fast_path_name(FastPath p) {
  switch (p) {
    case FastPath::kMlpStep: return "fused MLP step";
    case FastPath::kMlpInference: return "MLP inference";
    case FastPath::kTimeEmbedding: return "one-pass time embedding";
    case FastPath::kAdam: return "one-pass Adam";
    case FastPath::kGroupNormSilu: return "fused group norm + SiLU";
  }
  return "?";
}

bool set_cpu_fast_paths(bool on) { return g_on.exchange(on); }
bool cpu_fast_paths() { return g_on.load(std::memory_order_relaxed); }
bool fast_path_on(FastPath) { return g_on.load(std::memory_order_relaxed); }

bool x86_kernels_built() {
#if LOCKSTEP_X86_KERNELS
  return true;
#else
  return false;
#endif
}

std::string kernel_target() {
#if LOCKSTEP_X86_KERNELS
  __builtin_cpu_init();
  if (silu_rows_use_avx512()) return "x86-64 kernels, AVX-512 (hand-written SiLU rows)";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "x86-64 kernels, AVX2";
  return "x86-64 kernels, SSE2";
#else
  return "portable kernels (built without LOCKSTEP_X86_KERNELS)";
#endif
}

std::string describe_fast_paths(const std::vector<FastPath>& active) {
  if (!cpu_fast_paths()) return "off (engine.cpu_fast_paths is false): LibTorch's portable code throughout";
  std::string names;
  for (FastPath p : active) {
    if (fast_path_on(p)) names += (names.empty() ? "" : ", ") + std::string(fast_path_name(p));
  }
  if (names.empty()) return "none apply to this run";
  return names + "; " + kernel_target();
}

}  // namespace lockstep
