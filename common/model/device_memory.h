// The CUDA caching allocator's peak, for the memory reports (Timings.peak_device_mib, metrics.jsonl).
//
// Contract: device_peak_mib(d) is the most memory LibTorch's CUDA caching allocator has held allocated at once on
// device d since the process started, in MiB; 0 when this build's LibTorch has no CUDA (Debian's is CPU-only) or
// d < 0. device_memory_source() names what it reads ("" without CUDA).
#pragma once

#include <string>

namespace lockstep {

double device_peak_mib(int device);
std::string device_memory_source();

}  // namespace lockstep
