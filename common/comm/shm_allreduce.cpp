#include "common/comm/shm_allreduce.h"

#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstring>

#include "common/comm/poll_wait.h"
#include "common/comm/shm_object.h"
#include "common/kernels/sum_ranks.h"
#include "common/util/error.h"

namespace lockstep {
namespace {

using Counter = ShmCounter;
constexpr size_t kLine = kShmLine;
constexpr size_t kHeaderBytes = 3 * kLine;  // ready, done, consumed: one cache line each
constexpr size_t kChunkAlign = kLine / sizeof(float);
using Clock = std::chrono::steady_clock;

class ShmPending : public PendingReduce {
 public:
  ShmPending(ShmAllreduce* owner, uint64_t last) : owner_(owner), last_(last) {}
  bool test() override { return owner_->complete(last_); }
  void wait() override { owner_->wait(last_); }

 private:
  ShmAllreduce* owner_;
  uint64_t last_;
};

}  // namespace

struct ShmAllreduce::Region {
  Counter* ready;
  Counter* done;
  Counter* consumed;
  float* slots;
};

std::unique_ptr<ShmAllreduce> ShmAllreduce::create(Comm& comm, std::string* why_not) {
  const size_t region_bytes = shm_pages(kHeaderBytes + kSlots * kSlotFloats * sizeof(float));
  const size_t total = region_bytes * static_cast<size_t>(comm.size());
  void* map = map_shared_object(comm, total, why_not);
  if (map == nullptr) return nullptr;
  return std::unique_ptr<ShmAllreduce>(new ShmAllreduce(comm.rank(), comm.size(), map, total, region_bytes));
}

float* ShmAllreduce::share_buffer(Comm& comm, size_t floats, std::string* why_not) {
  if (buffers_map_ != nullptr) {  // every rank alike: the calls are collective
    *why_not = "this communicator's shared buffer is already in use";
    return nullptr;
  }
  const size_t bytes = shm_pages(std::max<size_t>(floats, 1) * sizeof(float));
  void* map = map_shared_object(comm, bytes * static_cast<size_t>(size_), why_not);
  if (map == nullptr) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  buffers_map_ = map;
  buffer_bytes_ = bytes;
  buffer_floats_ = floats;
  return buffer(rank_);  // zero: fresh pages of a new object
}

float* ShmAllreduce::buffer(int q) const {
  return reinterpret_cast<float*>(static_cast<char*>(buffers_map_) + buffer_bytes_ * static_cast<size_t>(q));
}

ShmAllreduce::ShmAllreduce(int rank, int size, void* map, size_t map_bytes, size_t region_bytes)
    : rank_(rank), size_(size), map_(map), map_bytes_(map_bytes), region_bytes_(region_bytes), spin_s_(poll_spin_s(size)), inputs_(static_cast<size_t>(size)),
      outputs_(std::max<size_t>(2, static_cast<size_t>(size))) {}

ShmAllreduce::~ShmAllreduce() {
  ::munmap(map_, map_bytes_);
  if (buffers_map_ != nullptr) ::munmap(buffers_map_, buffer_bytes_ * static_cast<size_t>(size_));
}

ShmAllreduce::Region ShmAllreduce::region(int q) const {
  char* base = static_cast<char*>(map_) + region_bytes_ * static_cast<size_t>(q);
  return Region{reinterpret_cast<Counter*>(base), reinterpret_cast<Counter*>(base + kLine),
                reinterpret_cast<Counter*>(base + 2 * kLine), reinterpret_cast<float*>(base + kHeaderBytes)};
}

size_t ShmAllreduce::chunk_begin(size_t count, int q) const {
  if (q >= size_) return count;
  const size_t at = count * static_cast<size_t>(q) / static_cast<size_t>(size_);
  return std::min(count, at / kChunkAlign * kChunkAlign);
}

std::unique_ptr<PendingReduce> ShmAllreduce::start(float* data, size_t count) {
  std::lock_guard<std::mutex> lock(mu_);
  const float* mine = buffers_map_ != nullptr ? buffer(rank_) : nullptr;
  const bool shared = mine != nullptr && data >= mine && data + count <= mine + buffer_floats_;
  size_t done = 0;
  do {  // a zero-length call is one empty segment, so that every rank still counts it
    const size_t n = std::min(kSlotFloats, count - done);
    // my own chunk needs no gather: my reduce sums it into data
    std::vector<char> copied(size_, 0);
    copied[rank_] = 1;
    queue_.push_back(Segment{++next_seq_, data + done, n, shared, std::move(copied), size_ - 1});
    done += n;
  } while (done < count);
  progress_locked();
  return std::make_unique<ShmPending>(this, next_seq_);
}

void ShmAllreduce::progress_locked() {
  const Region me = region(rank_);
  const uint64_t first = gathered_ + 1;  // the sequence number of queue_.front()
  // 1. post, in order
  while (posted_ < next_seq_) {
    const uint64_t s = posted_ + 1;
    const Segment& seg = queue_[s - first];
    if (!seg.shared) {  // a shared segment is already where the others read it
      if (s > kSlots) {
        for (int q = 0; q < size_; ++q) {
          if (region(q).consumed->load(std::memory_order_acquire) < s - kSlots) return;
        }
      }
      // only the other ranks' chunks: my own chunk is read by nobody but me, from seg.data
      const size_t lo = chunk_begin(seg.count, rank_), hi = chunk_begin(seg.count, rank_ + 1);
      float* slot = me.slots + (s % kSlots) * kSlotFloats;
      std::memcpy(slot, seg.data, lo * sizeof(float));
      std::memcpy(slot + hi, seg.data + hi, (seg.count - hi) * sizeof(float));
    }
    me.ready->store(s, std::memory_order_release);
    posted_ = s;
  }
  // 2. reduce my chunk, in order
  auto all_ready = [&](uint64_t s) {
    for (int q = 0; q < size_; ++q) {
      if (region(q).ready->load(std::memory_order_acquire) < s) return false;
    }
    return true;
  };
  while (reduced_ < posted_ && all_ready(reduced_ + 1)) {
    const uint64_t s = reduced_ + 1;
    const Segment& seg = queue_[s - first];
    const size_t lo = chunk_begin(seg.count, rank_), hi = chunk_begin(seg.count, rank_ + 1);
    if (seg.shared) {
      // ((x_0 + x_1) + x_2) + ... from every rank's buffer into every rank's buffer
      const size_t offset = static_cast<size_t>(seg.data - buffer(rank_)) + lo;  // the same in every rank's buffer
      for (int q = 0; q < size_; ++q) outputs_[q] = buffer(q) + offset;
      for (int q = 0; q < size_; ++q) inputs_[q] = outputs_[q];
      sum_in_rank_order(inputs_.data(), size_, hi - lo, outputs_.data(), size_);
    } else {
      const size_t slot = (s % kSlots) * kSlotFloats;
      // ((x_0 + x_1) + x_2) + ... (my own x from seg.data), into my slot for the others to gather and into
      // seg.data, where my chunk then is complete
      for (int q = 0; q < size_; ++q) inputs_[q] = (q == rank_ ? seg.data : region(q).slots + slot) + lo;
      outputs_[0] = me.slots + slot + lo;
      outputs_[1] = seg.data + lo;
      sum_in_rank_order(inputs_.data(), size_, hi - lo, outputs_.data(), 2);
    }
    me.done->store(s, std::memory_order_release);
    reduced_ = s;
  }
  // 3. gather, in order: the front segment's chunks as their owners finish
  while (!queue_.empty() && gathered_ < reduced_) {
    Segment& seg = queue_.front();
    const size_t slot = (seg.seq % kSlots) * kSlotFloats;
    for (int q = 0; q < size_; ++q) {
      if (seg.copied[q]) continue;
      const Region other = region(q);
      if (other.done->load(std::memory_order_acquire) < seg.seq) continue;
      const size_t lo = chunk_begin(seg.count, q), hi = chunk_begin(seg.count, q + 1);
      // a shared segment's chunk q is in my buffer already: rank q wrote it there before done
      if (!seg.shared) std::memcpy(seg.data + lo, other.slots + slot + lo, (hi - lo) * sizeof(float));
      seg.copied[q] = 1;
      --seg.remaining;
    }
    if (seg.remaining > 0) return;
    gathered_ = seg.seq;
    me.consumed->store(seg.seq, std::memory_order_release);
    queue_.pop_front();
  }
}

bool ShmAllreduce::complete(uint64_t last_segment) {
  std::lock_guard<std::mutex> lock(mu_);
  if (gathered_ >= last_segment) return true;
  progress_locked();
  return gathered_ >= last_segment;
}

void ShmAllreduce::wait(uint64_t last_segment) {
  const auto start = Clock::now();
  const double limit = poll_limit_s(rank_, timeout_);
  for (;;) {
    if (complete(last_segment)) return;
    const double waited = std::chrono::duration<double>(Clock::now() - start).count();
    if (timeout_ > 0 && waited > limit) {
      std::lock_guard<std::mutex> lock(mu_);
      throw CommError(waited_text("allreduce (shared memory, segment " + std::to_string(gathered_ + 1) + ")", waited, rank_, timeout_) +
                      missing_message(gathered_ + 1));
    }
    poll_pause(waited, spin_s_);
  }
}

std::string ShmAllreduce::missing_message(uint64_t seq) const {
  // the ranks that have not posted the segment; when all have, the ranks that have not reduced their chunk
  for (const bool posting : {true, false}) {
    std::string late;
    for (int q = 0; q < size_; ++q) {
      const Region r = region(q);
      if ((posting ? r.ready : r.done)->load(std::memory_order_acquire) < seq) late += (late.empty() ? "" : ", ") + std::to_string(q);
    }
    if (!late.empty()) return posting ? "ranks that did not arrive: " + late : "all arrived; ranks that did not sum their chunk: " + late;
  }
  return "all ranks arrived and summed (waiting for this rank's own earlier segments)";
}

}  // namespace lockstep
