// How much memory this machine can give, for size checks before large allocations. No torch.
//
// Contract: memory_available_bytes() is MemAvailable of /proc/meminfo (what the kernel can hand out without
// swapping), else the physical memory (sysconf), else 2^62 where neither can be read. check_fits_in_memory() throws
// BadInput "<what> needs N GB, more than the M GB of memory available (<hint>)" when `bytes` exceeds it.
// peak_resident_mib() is what the process has held at most.
#pragma once

#include <cstdint>
#include <string>

namespace lockstep {

uint64_t memory_available_bytes();
// "3.2 GB", "512 MB", "12 KB" (powers of 1000, as the message reads)
std::string bytes_text(uint64_t bytes);
void check_fits_in_memory(uint64_t bytes, const std::string& what, const std::string& hint);
// This process's peak resident set so far, MiB (getrusage's ru_maxrss; 0 where it cannot be read).
double peak_resident_mib();

}  // namespace lockstep
