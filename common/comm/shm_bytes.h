// Broadcast and gather of bytes through shared memory, for ranks that all run on one machine: the tick's frame
// and reports (coordinator.h, steps 2 and 4) pass without MPI messages. No torch, no MPI.
//
// Contract: create() is collective over `comm` (it uses the comm's own broadcast and gather) and returns nullptr
// on every rank, with the reason, when the shared memory could not be made. After that, broadcast() and gather()
// are collective over the same ranks: every rank makes the same calls in the same order with the same root (call
// k of one rank meets call k of the others).
//   broadcast(bytes, root)               root's bytes replace the others'. False on every rank, with nothing
//                                        changed, when they are longer than kCapacity: then the caller moves them
//                                        another way.
//   gather(bytes, root, out, too_big)    at root: (*out)[q] holds rank q's bytes for every rank whose bytes fit,
//                                        and too_big lists the others, in rank order, for the caller to fetch
//                                        another way; true. Elsewhere: false when this rank's bytes did not fit.
// A rank returns from a gather as soon as its bytes are posted; a writer waits only for the readers of its
// previous message. A wait longer than the timeout throws CommError naming the ranks that did not arrive (rank 0
// at the timeout, the others 5 s later, so that rank 0 speaks first, as over MPI).
//
// How: one shared object (shm_object.h); every rank owns a region: two counters, posted (the number of the call
// whose message the region holds) and acked (the last call this rank has finished), a cache line each, then the
// message's length and up to kCapacity bytes. A writer waits until every reader of its previous message has acked
// that call, writes the length (or "too big") and the bytes, then posted = k; a reader waits for posted >= k,
// copies, and acks k. Plain loads and stores with release/acquire counters: no system calls.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/comm/comm.h"

namespace lockstep {

class ShmBytes {
 public:
  static constexpr size_t kCapacity = size_t{64} << 10;  // bytes per message: a tick's frame or report is ~100

  static std::unique_ptr<ShmBytes> create(Comm& comm, std::string* why_not);
  ~ShmBytes();
  ShmBytes(const ShmBytes&) = delete;
  ShmBytes& operator=(const ShmBytes&) = delete;

  bool broadcast(std::string* bytes, int root);
  bool gather(const std::string& bytes, int root, std::vector<std::string>* out, std::vector<int>* too_big);
  void set_timeout(double seconds) { timeout_ = seconds; }

 private:
  struct Region;
  ShmBytes(int rank, int size, void* map, size_t region_bytes);
  Region region(int q) const;
  bool post(const std::string& bytes, int readers_root, const char* op);  // readers_root: -1 for all ranks
  void read(int writer, std::string* bytes, bool* fit);
  template <class Ready>
  void await(const char* op, const Ready& ready, const std::vector<int>& ranks);

  int rank_, size_;
  void* map_;
  size_t region_bytes_;
  double timeout_ = 0;
  double spin_s_;
  uint64_t call_ = 0;        // this rank's calls so far
  uint64_t last_write_ = 0;  // the call of my last message
  int last_readers_ = -1;    // who reads it: its root, or -1 for every other rank
};

}  // namespace lockstep
