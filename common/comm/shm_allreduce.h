// Float32 all-reduce through shared memory, for ranks that all run on one machine (the shm backend, comm_shm.h).
//
// Contract: create() is collective over `comm` (every rank calls it at the same point; it uses the comm's own
// broadcast and gather) and returns nullptr on every rank, with the reason, when the shared memory could not be
// made. After that no MPI call is made: start(data, n) is called by every rank in the same order with the same
// n, and the PendingReduce it returns completes when `data` holds the element-wise sum over the ranks, the same
// bits on every rank: element i is ((x_0[i] + x_1[i]) + x_2[i]) + ... in rank order, whatever the timing.
// Several may be in flight; they complete in start order. test() never blocks; wait() polls (spinning while
// every rank can have a core of its own, else sleeping between polls) with a deadline, and throws CommError
// naming the ranks that did not arrive (rank 0 at the timeout, the others 5 s later, so that rank 0 speaks
// first, as over MPI). The caller leaves `data` alone until completion.
// share_buffer(comm, n) is collective too: the first call maps one buffer of n floats per rank, all ranks' buffers
// visible to every rank, and returns this rank's, zeroed (or nullptr on every rank, with the reason). A call whose
// data lies inside that buffer (at the same offset on every rank) is summed without copies in or out.
//
// How: one POSIX shared-memory object (shm_object.h). Each rank owns a region of it: three counters (ready, done, consumed, one
// cache line each) and kSlots slots of kSlotFloats floats. A call is cut into segments of at most kSlotFloats
// floats, numbered s = 1, 2, ... on every rank alike; segment s uses slot s mod kSlots of every region, and
// its n floats are cut into one chunk per rank (64-byte aligned). Steps, each taken in segment order:
//   1. post    once every rank has consumed segment s - kSlots (the slot is free): copy the segment's chunks of
//              the other ranks into my slot (my own chunk only I read, from data), then ready = s
//   2. reduce  once every rank is ready: sum my chunk over all ranks in rank order (the others' slots, my data),
//              into my slot and into data; done = s
//   3. gather  as each other rank q is done: copy chunk q from q's slot into data; after the last, consumed = s
// A segment in the shared buffers skips the copies: 1. ready = s (the data is already where the others read
// it); 2. sum my chunk over every rank's buffer and write it into every rank's buffer (no rank touches another's
// chunk, and a rank's buffer is left alone by its owner from ready until the call completes); 3. once every
// rank is done, consumed = s. For 2 ranks that moves about half the bytes of the slot path.
// Plain loads and stores with release/acquire counters: a reduce never enters the kernel, and the work of
// steps 1 to 3 is done in whichever test() or wait() of the rank finds it possible (overlap with backward).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/comm/comm.h"

namespace lockstep {

class ShmAllreduce {
 public:
  static constexpr size_t kSlots = 4;
  static constexpr size_t kSlotFloats = size_t{1} << 18;  // 1 MiB: 4 MiB of shared memory per rank

  static std::unique_ptr<ShmAllreduce> create(Comm& comm, std::string* why_not);
  ~ShmAllreduce();
  ShmAllreduce(const ShmAllreduce&) = delete;
  ShmAllreduce& operator=(const ShmAllreduce&) = delete;

  std::unique_ptr<PendingReduce> start(float* data, size_t count);
  // Collective: this rank's shared buffer of `floats` floats, zeroed; nullptr with the reason (also on a second call).
  float* share_buffer(Comm& comm, size_t floats, std::string* why_not);
  void set_timeout(double seconds) { timeout_ = seconds; }
  // Bytes of shared memory mapped (all ranks' regions).
  size_t mapped_bytes() const { return map_bytes_; }

  // Used by the pending reduces.
  bool complete(uint64_t last_segment);
  void wait(uint64_t last_segment);

 private:
  struct Region;
  struct Segment {
    uint64_t seq;
    float* data;
    size_t count;
    bool shared;  // data lies in my shared buffer, and the others' data at the same offset in theirs
    std::vector<char> copied;  // per rank: its chunk is in `data` (my own from the start: my reduce writes it there)
    int remaining;
  };
  ShmAllreduce(int rank, int size, void* map, size_t map_bytes, size_t region_bytes);
  Region region(int q) const;
  float* buffer(int q) const;  // rank q's shared buffer (share_buffer)
  void progress_locked();
  size_t chunk_begin(size_t count, int q) const;
  std::string missing_message(uint64_t seq) const;

  int rank_, size_;
  void* map_;
  size_t map_bytes_, region_bytes_;
  double timeout_ = 0;
  double spin_s_;  // the spin before sleeping between polls (poll_wait.h)
  std::mutex mu_;
  uint64_t next_seq_ = 0;                  // the last segment started
  uint64_t posted_ = 0, reduced_ = 0;      // the last segment this rank posted, reduced
  uint64_t gathered_ = 0;                  // the last segment this rank consumed
  std::deque<Segment> queue_;              // started, not yet consumed, in order
  std::vector<const float*> inputs_;       // the reduce's inputs, one per rank
  std::vector<float*> outputs_;            // and its outputs
  void* buffers_map_ = nullptr;            // share_buffer's object: one buffer per rank
  size_t buffer_bytes_ = 0;                // per rank, page-rounded
  size_t buffer_floats_ = 0;
};

}  // namespace lockstep
