// The seam of the CPU fast paths: hand-written code that replaces LibTorch's portable operations where it is faster
// on the CPU. Which ones exist, whether they are switched on, and what the banner says. No torch.
//
// Contract:
// - Each FastPath names one place where hand-written code may run instead of LibTorch's (docs/design.md, "Fast
//   paths"). Its caller asks fast_path_on(p) and takes the portable LibTorch path when it is false; both give the
//   same results up to float rounding.
// - set_cpu_fast_paths(on) is the one runtime switch (engine.cpu_fast_paths; sample and eval: --no-fast-paths):
//   false turns every fast path off in this process. It is set once by each command before tensor work begins (the
//   tests flip it between runs); it returns the previous setting. On by default.
// - The kernels under the fast paths (common/kernels/*.cpp) are plain C++ that any compiler vectorizes for its
//   target. Built with LOCKSTEP_X86_KERNELS (a CMake option, on by default on x86-64, off elsewhere) they also
//   carry x86-64 code: clones for AVX-512 and AVX2 picked by the loader, denormals flushed through MXCSR, and the
//   SiLU rows hand-written in AVX-512 where the CPU has it. kernel_target() says which, for the banner.
#pragma once

#include <string>
#include <vector>

namespace lockstep {

enum class FastPath {
  kMlpStep,         // the MLP's fused training step (common/model/mlp_step.h), with engine.fused_mlp
  kMlpInference,    // the MLP's forward without autograd by hand (common/model/mlp.h)
  kTimeEmbedding,   // the sinusoidal time embedding in one pass (common/kernels/sincos.h)
  kAdam,            // Adam and the EMA in one pass over memory (common/kernels/adam.h)
  kGroupNormSilu,   // the U-Net's group norm + SiLU as one node in bf16_mixed (common/model/norm_act.h)
};

const std::vector<FastPath>& all_fast_paths();
// "fused MLP step", "MLP inference", ...
const char* fast_path_name(FastPath p);

bool set_cpu_fast_paths(bool on);
bool cpu_fast_paths();
bool fast_path_on(FastPath p);

// Whether this binary carries the x86-64 code of the kernels (LOCKSTEP_X86_KERNELS).
bool x86_kernels_built();
// "x86-64 kernels, AVX-512 (hand-written SiLU rows)", "x86-64 kernels, AVX2", "portable kernels (built without
// LOCKSTEP_X86_KERNELS)".
std::string kernel_target();
// The banner's line: the fast paths among `active` that are on, and the kernels' target; or why none is.
std::string describe_fast_paths(const std::vector<FastPath>& active);

}  // namespace lockstep
