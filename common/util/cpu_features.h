// What this CPU offers beyond what the compiler targets, read with cpuid. No torch.
//
// Contract: cpu_bf16_outpaces_fp32() is true where oneDNN's bfloat16 convolutions are expected to beat its float32
// ones: AMX-BF16 (cpuid leaf 7, EDX bit 22) with tile state saved by the operating system (XCR0 bits 17 and 18), or
// an AMD CPU with AVX512-BF16 (cpuid leaf 7 subleaf 1, EAX bit 5); the measurements behind the rule are in
// docs/images.md. False on CPUs other than x86-64.
#pragma once

namespace lockstep {

bool cpu_bf16_outpaces_fp32();

}  // namespace lockstep
