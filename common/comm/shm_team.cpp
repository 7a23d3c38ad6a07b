#include "common/comm/shm_team.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>

#include "common/comm/poll_wait.h"
#include "common/comm/shm_object.h"

namespace lockstep {
namespace {

constexpr size_t kAlignFloats = kShmLine / sizeof(float);
size_t aligned_floats(size_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

}  // namespace

// One cache line per rank: the number of its last exchange, and its value there (two, by the exchange's parity: a
// rank can be at most one exchange ahead of a reader, so the value a reader wants is never overwritten under it).
struct ShmTeam::Line {
  ShmCounter seq;
  double value[2];
};
static_assert(sizeof(ShmCounter) + 2 * sizeof(double) <= kShmLine, "a rank's line holds its counter and values");

std::unique_ptr<ShmTeam> ShmTeam::create(Comm& comm, const ShmTeamLayout& layout, std::string* why_not) {
  const size_t ranks = static_cast<size_t>(comm.size());
  const size_t header = shm_pages(ranks * kShmLine);
  size_t floats = 0;
  for (size_t n : layout.per_rank) floats += ranks * aligned_floats(n);
  for (size_t n : layout.common) floats += aligned_floats(n);
  const size_t total = shm_pages(header + floats * sizeof(float));
  void* map = map_shared_object(comm, total, why_not);
  if (map == nullptr) return nullptr;
  std::unique_ptr<ShmTeam> team(new ShmTeam(comm.rank(), comm.size(), map, total));
  float* next = reinterpret_cast<float*>(static_cast<char*>(map) + header);
  for (size_t n : layout.per_rank) {
    for (size_t q = 0; q < ranks; ++q, next += aligned_floats(n)) team->per_rank_.push_back(next);
  }
  for (size_t n : layout.common) {
    team->common_.push_back(next);
    next += aligned_floats(n);
  }
  return team;
}

ShmTeam::ShmTeam(int rank, int size, void* map, size_t map_bytes)
    : rank_(rank), size_(size), map_(map), map_bytes_(map_bytes), values_(static_cast<size_t>(size)), spin_s_(poll_spin_s(size)) {}

ShmTeam::~ShmTeam() { ::munmap(map_, map_bytes_); }

ShmTeam::Line* ShmTeam::line(int q) const {
  return reinterpret_cast<Line*>(static_cast<char*>(map_) + kShmLine * static_cast<size_t>(q));
}

const std::vector<double>& ShmTeam::exchange(double value, const char* what) {
  const uint64_t s = ++seq_;
  Line* me = line(rank_);
  me->value[s & 1] = value;
  me->seq.store(s, std::memory_order_release);
  const auto start = std::chrono::steady_clock::now();
  const double limit = poll_limit_s(rank_, timeout_);
  for (int q = 0; q < size_; ++q) {
    while (line(q)->seq.load(std::memory_order_acquire) < s) {
      const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (timeout_ > 0 && waited > limit) {
        std::string late;
        for (int r = 0; r < size_; ++r) {
          if (line(r)->seq.load(std::memory_order_acquire) < s) late += (late.empty() ? "" : ", ") + std::to_string(r);
        }
        throw CommError(waited_text(std::string(what) + " (shared memory)", waited, rank_, timeout_) + "ranks that did not arrive: " + late);
      }
      poll_pause(waited, spin_s_);
    }
    values_[q] = line(q)->value[s & 1];
  }
  return values_;
}

std::pair<size_t, size_t> ShmTeam::shard(size_t n, int q) const {
  auto begin = [&](int r) {
    if (r >= size_) return n;
    const size_t at = n * static_cast<size_t>(r) / static_cast<size_t>(size_);
    return std::min(n, at / kAlignFloats * kAlignFloats);
  };
  return {begin(q), begin(q + 1)};
}

}  // namespace lockstep
