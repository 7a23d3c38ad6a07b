// Memory and a barrier shared by the ranks of one machine: the arrays of the sharded optimizer step
// (worker/sharded_step.h). No torch.
//
// Contract: create(comm, layout, why_not) is collective over `comm` (every rank on one machine; it uses the comm's
// broadcast and gather while it maps the memory, shm_object.h) and returns nullptr on every rank, with the reason,
// when the shared memory could not be made. The object holds, zeroed and 64-byte aligned:
//   - layout.per_rank[k] floats for each rank and each k: rank q's array k is of(k, q), mine(k) is of(k, rank());
//   - layout.common[k] floats once for all ranks: common(k).
// Every rank may read and write every array; who writes what, and when, is the caller's protocol.
// exchange(value, what) is collective (every rank calls it in the same order): it returns every rank's value in
// rank order, the same on every rank, and it is a barrier: what any rank wrote before its call is visible to every
// rank after its return (release/acquire counters, plain loads and stores, no system call). A wait longer than
// set_timeout's seconds throws CommError naming `what` and the ranks that did not arrive (rank 0 at the timeout,
// the others 5 s later, poll_wait.h). shard(n, q) is rank q's part of n elements: contiguous, in rank order,
// starting on a 64-byte boundary, covering [0, n) without gaps.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/comm/comm.h"

namespace lockstep {

struct ShmTeamLayout {
  std::vector<size_t> per_rank;  // floats of each per-rank array
  std::vector<size_t> common;    // floats of each common array
};

class ShmTeam {
 public:
  static std::unique_ptr<ShmTeam> create(Comm& comm, const ShmTeamLayout& layout, std::string* why_not);
  ~ShmTeam();
  ShmTeam(const ShmTeam&) = delete;
  ShmTeam& operator=(const ShmTeam&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  float* of(size_t k, int q) const { return per_rank_[k * static_cast<size_t>(size_) + static_cast<size_t>(q)]; }
  float* mine(size_t k) const { return of(k, rank_); }
  float* common(size_t k) const { return common_[k]; }
  const std::vector<double>& exchange(double value, const char* what);
  void set_timeout(double seconds) { timeout_ = seconds; }
  std::pair<size_t, size_t> shard(size_t n, int q) const;
  size_t mapped_bytes() const { return map_bytes_; }

 private:
  struct Line;
  ShmTeam(int rank, int size, void* map, size_t map_bytes);
  Line* line(int q) const;

  int rank_, size_;
  void* map_;
  size_t map_bytes_;
  std::vector<float*> per_rank_, common_;
  uint64_t seq_ = 0;  // exchanges so far
  std::vector<double> values_;
  double timeout_ = 0, spin_s_;
};

}  // namespace lockstep
