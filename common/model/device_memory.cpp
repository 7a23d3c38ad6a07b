#include "common/model/device_memory.h"

#ifdef LOCKSTEP_HAVE_C10_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace lockstep {

#ifdef LOCKSTEP_HAVE_C10_CUDA
double device_peak_mib(int device) {
  if (device < 0) return 0.0;
  const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device);
  const int64_t peak = stats.allocated_bytes[static_cast<size_t>(c10::cuda::CUDACachingAllocator::StatType::AGGREGATE)].peak;
  return static_cast<double>(peak) / (1024.0 * 1024.0);
}
std::string device_memory_source() { return "CUDA caching allocator, peak allocated"; }
#else
double device_peak_mib(int) { return 0.0; }
std::string device_memory_source() { return ""; }
#endif

}  // namespace lockstep
