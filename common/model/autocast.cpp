#include "common/model/autocast.h"

#include <ATen/autocast_mode.h>

#include "common/util/cpu_features.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

thread_local bool convs_in_float32 = false;

}  // namespace

Bf16Convs bf16_convs_from_config(const std::string& setting) {
  if (setting == "native") return Bf16Convs::kNative;
  if (setting == "float32") return Bf16Convs::kFloat32;
  LS_CHECK(setting == "auto", "bf16_convs_from_config: unknown setting '" << setting << "' (config validation lets through auto, native, float32)");
  return cpu_bf16_outpaces_fp32() ? Bf16Convs::kNative : Bf16Convs::kFloat32;
}

AutocastScope::AutocastScope(bool on, bool cuda, Bf16Convs convs, bool half) : on_(on), cuda_(cuda) {
  if (!on_) return;
  LS_CHECK(cuda_ || !half, "AutocastScope: float16 autocast on the CPU (LibTorch has none; fp16_mixed runs float32 there)");
  if (cuda_) {
    at::autocast::set_autocast_gpu_dtype(half ? at::kHalf : at::kBFloat16);
    at::autocast::set_enabled(true);
  } else {
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::set_cpu_enabled(true);
    convs_in_float32 = convs == Bf16Convs::kFloat32;
  }
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!on_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(false);
  } else {
    at::autocast::set_cpu_enabled(false);
    convs_in_float32 = false;
  }
}

bool bf16_convs_in_float32() { return convs_in_float32 && at::autocast::is_cpu_enabled(); }

}  // namespace lockstep
