#include "common/comm/shm_bytes.h"

#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstring>

#include "common/comm/poll_wait.h"
#include "common/comm/shm_object.h"

namespace lockstep {
namespace {

using Counter = ShmCounter;
constexpr size_t kLine = kShmLine;
constexpr size_t kHeaderBytes = 3 * kLine;  // posted, acked, length: one cache line each
constexpr uint64_t kTooBig = ~uint64_t{0};
using Clock = std::chrono::steady_clock;

}  // namespace

struct ShmBytes::Region {
  Counter* posted;
  Counter* acked;
  uint64_t* length;
  char* payload;
};

std::unique_ptr<ShmBytes> ShmBytes::create(Comm& comm, std::string* why_not) {
  const size_t region_bytes = shm_pages(kHeaderBytes + kCapacity);
  void* map = map_shared_object(comm, region_bytes * static_cast<size_t>(comm.size()), why_not);
  if (map == nullptr) return nullptr;
  return std::unique_ptr<ShmBytes>(new ShmBytes(comm.rank(), comm.size(), map, region_bytes));
}

ShmBytes::ShmBytes(int rank, int size, void* map, size_t region_bytes)
    : rank_(rank), size_(size), map_(map), region_bytes_(region_bytes), spin_s_(poll_spin_s(size)) {}

ShmBytes::~ShmBytes() { ::munmap(map_, region_bytes_ * static_cast<size_t>(size_)); }

ShmBytes::Region ShmBytes::region(int q) const {
  char* base = static_cast<char*>(map_) + region_bytes_ * static_cast<size_t>(q);
  return Region{reinterpret_cast<Counter*>(base), reinterpret_cast<Counter*>(base + kLine),
                reinterpret_cast<uint64_t*>(base + 2 * kLine), base + kHeaderBytes};
}

template <class Ready>
void ShmBytes::await(const char* op, const Ready& ready, const std::vector<int>& ranks) {
  const auto start = Clock::now();
  const double limit = poll_limit_s(rank_, timeout_);
  for (;;) {
    bool all = true;
    for (int q : ranks) all = all && ready(q);
    if (all) return;
    const double waited = std::chrono::duration<double>(Clock::now() - start).count();
    if (timeout_ > 0 && waited > limit) {
      std::string late;
      for (int q : ranks) {
        if (!ready(q)) late += (late.empty() ? "" : ", ") + std::to_string(q);
      }
      throw CommError(waited_text(std::string(op) + " (shared memory, call " + std::to_string(call_) + ")", waited, rank_, timeout_) +
                      "ranks that did not arrive: " + late);
    }
    poll_pause(waited, spin_s_);
  }
}

bool ShmBytes::post(const std::string& bytes, int readers_root, const char* op) {
  if (last_write_ > 0) {  // the readers of my previous message are done with it
    std::vector<int> readers;
    for (int q = 0; q < size_; ++q) {
      if (q != rank_ && (last_readers_ < 0 || q == last_readers_)) readers.push_back(q);
    }
    const uint64_t previous = last_write_;
    await(op, [&](int q) { return region(q).acked->load(std::memory_order_acquire) >= previous; }, readers);
  }
  const Region me = region(rank_);
  const bool fit = bytes.size() <= kCapacity;
  *me.length = fit ? bytes.size() : kTooBig;
  if (fit) std::memcpy(me.payload, bytes.data(), bytes.size());
  me.posted->store(call_, std::memory_order_release);
  last_write_ = call_;
  last_readers_ = readers_root;
  return fit;
}

void ShmBytes::read(int writer, std::string* bytes, bool* fit) {
  const Region w = region(writer);
  const uint64_t length = *w.length;
  *fit = length != kTooBig;
  if (*fit) bytes->assign(w.payload, length);
}

bool ShmBytes::broadcast(std::string* bytes, int root) {
  const uint64_t k = ++call_;
  bool fit = false;
  if (rank_ == root) {
    fit = post(*bytes, -1, "broadcast");
  } else {
    await("broadcast", [&](int q) { return region(q).posted->load(std::memory_order_acquire) >= k; }, {root});
    read(root, bytes, &fit);
  }
  region(rank_).acked->store(k, std::memory_order_release);
  return fit;
}

bool ShmBytes::gather(const std::string& bytes, int root, std::vector<std::string>* out, std::vector<int>* too_big) {
  const uint64_t k = ++call_;
  out->clear();
  too_big->clear();
  if (rank_ != root) {
    const bool fit = post(bytes, root, "gather");
    region(rank_).acked->store(k, std::memory_order_release);
    return fit;
  }
  std::vector<int> others;
  for (int q = 0; q < size_; ++q) {
    if (q != root) others.push_back(q);
  }
  await("gather", [&](int q) { return region(q).posted->load(std::memory_order_acquire) >= k; }, others);
  out->resize(static_cast<size_t>(size_));
  (*out)[static_cast<size_t>(root)] = bytes;
  for (int q : others) {
    bool fit = false;
    read(q, &(*out)[static_cast<size_t>(q)], &fit);
    if (!fit) too_big->push_back(q);
  }
  region(rank_).acked->store(k, std::memory_order_release);
  return true;
}

}  // namespace lockstep
