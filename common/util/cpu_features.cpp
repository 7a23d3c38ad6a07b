#include "common/util/cpu_features.h"

#if defined(__x86_64__)
#include <cpuid.h>

#include <cstdint>
#include <cstring>
#endif

namespace lockstep {

#if defined(__x86_64__)
namespace {

bool amd() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(0, &a, &b, &c, &d) == 0) return false;
  char vendor[13] = {};
  std::memcpy(vendor, &b, 4);
  std::memcpy(vendor + 4, &d, 4);
  std::memcpy(vendor + 8, &c, 4);
  return std::strcmp(vendor, "AuthenticAMD") == 0;
}

bool avx512_bf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid_count(7, 1, &a, &b, &c, &d) != 0 && (a & (1u << 5)) != 0;
}

// AMX's bfloat16 tile instructions (cpuid leaf 7, EDX bit 22), with tile state saved by the OS (XCR0 bits 17, 18)
bool amx_bf16() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) == 0 || (c & (1u << 27)) == 0) return false;  // OSXSAVE: xgetbv is usable
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0 || (d & (1u << 22)) == 0) return false;  // AMX-BF16
  uint32_t xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const uint32_t tiles = (1u << 17) | (1u << 18);  // XTILECFG, XTILEDATA
  return (xcr0_lo & tiles) == tiles;
}

}  // namespace
#endif

bool cpu_bf16_outpaces_fp32() {
#if defined(__x86_64__)
  return amx_bf16() || (amd() && avx512_bf16());
#else
  return false;
#endif
}

}  // namespace lockstep
