// Mixed precision for the network's forward pass (train.precision "bf16_mixed", and "fp16_mixed" on CUDA).
//
// Contract: while an AutocastScope(true, ...) lives, LibTorch's autocast runs matrix products and convolutions
// in bfloat16 (float16 when `half`, on CUDA only: LibTorch's CPU autocast has no float16) on the given device kind
// (CPU, or CUDA when `cuda`); parameters, gradients and the optimizer stay float32 (Net::forward returns float32).
// Leaving the scope clears autocast's weight-cast cache, so the next scope sees the updated parameters.
// AutocastScope(false, ...) does nothing. Scopes do not nest.
//
// How a CPU scope's bfloat16 convolutions compute (train.bf16_convolutions), for the models that route their
// convolutions through conv.h: kNative, oneDNN's bfloat16 kernels; kFloat32, float32 arithmetic on the operands
// rounded to bfloat16, the result rounded to bfloat16 (conv.h). bf16_convs_in_float32() tells conv.h which one
// the calling thread's scope asked for (false outside a CPU bf16 scope).
#pragma once

#include <string>

namespace lockstep {

enum class Bf16Convs { kNative, kFloat32 };

// train.bf16_convolutions: "native", "float32", or "auto": native where bfloat16 is expected to outpace float32
// (cpu_bf16_outpaces_fp32(), util/cpu_features.h: AMX, or AMD with AVX512-BF16), float32 elsewhere. A fixed rule
// of the CPU, not a timing, so that a machine always computes the same numbers.
Bf16Convs bf16_convs_from_config(const std::string& setting);

class AutocastScope {
 public:
  AutocastScope(bool on, bool cuda, Bf16Convs convs = Bf16Convs::kNative, bool half = false);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_, cuda_;
};

bool bf16_convs_in_float32();

}  // namespace lockstep
