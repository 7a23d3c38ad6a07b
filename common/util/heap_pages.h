// How the process keeps its memory. A training tick allocates its activations (gigabytes for an image model) and
// frees them at its end; a solver step does the same on a smaller scale. Two things make that slow with glibc's
// defaults: blocks above the mmap threshold (32 MiB at most) are mapped afresh and returned on every free, and the
// heap's top is given back to the kernel, so every tick faults its memory in again, 4 KiB and one zeroed page at a
// time. And with 4 KiB pages, first touches and TLB misses cost a DiT tick a large part of its time (docs/performance.md,
// "Memory pages").
//
// Contract:
// - tune_heap() is called in main() before any tensor exists. With glibc it sets M_MMAP_THRESHOLD to 256 MiB and
//   turns trimming off, so freed blocks stay in the heap for the next tick (the peak resident set is unchanged).
//   When the kernel offers transparent huge pages ("always" or "madvise" in
//   /sys/kernel/mm/transparent_hugepage/enabled), MADV_HUGEPAGE exists, and LOCKSTEP_HUGE_PAGES is not "0", it
//   installs a CPU allocator for LibTorch that gives every block of 2 MiB or more a 2 MiB-aligned start and
//   madvise(MADV_HUGEPAGE) before anything touches it (so it is faulted in 2 MiB at a time), and smaller blocks from
//   the default allocator. Elsewhere it changes nothing.
// - huge_pages_on(): whether that allocator is installed.
// - heap_note(): one line for the banner and --version saying which of these is active, or why not.
#pragma once

#include <string>

namespace lockstep {

void tune_heap();
bool huge_pages_on();
std::string heap_note();

}  // namespace lockstep
