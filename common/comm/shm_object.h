// One POSIX shared-memory object mapped by every rank of a communicator on one machine. No torch.
//
// Contract: map_shared_object(comm, bytes, why_not) is collective over `comm` (every rank calls it at the same
// point; it uses the comm's own broadcast and gather). Rank 0 makes the object and reserves every page (a full
// /dev/shm fails here, not with SIGBUS at the first touch); every rank maps it, zeroed; rank 0 unlinks it once all
// have, so a crash leaves nothing behind. Returns the mapping (munmap it with the same size), or nullptr on every
// rank with the reason (naming the rank that failed). Used by the shared-memory all-reduce (shm_allreduce.h),
// whose counters are ShmCounter, one per cache line of kShmLine bytes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/comm/comm.h"

namespace lockstep {

using ShmCounter = std::atomic<uint64_t>;
static_assert(ShmCounter::is_always_lock_free, "the shared counters must be lock-free to work across processes");
constexpr size_t kShmLine = 64;
// `bytes` rounded up to whole pages: the size of a rank's region
constexpr size_t shm_pages(size_t bytes) { return (bytes + 4095) / 4096 * 4096; }

void* map_shared_object(Comm& comm, size_t bytes, std::string* why_not);

}  // namespace lockstep
