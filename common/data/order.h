// The data order of a finite data set: one seeded permutation of all N items per epoch (docs/design.md, "The determinism contract").
//
// Contract: global sample g (= tick * B + j, counted over the whole run) is item permutation_e(g mod N) of
// epoch e = g / N. Every item is used exactly once per epoch across all ranks: no padding, no duplicates, no
// dropped tail. Any rank computes the same permutation from (seed, epoch) alone; the last two epochs are
// cached, since a global batch may straddle an epoch boundary.
#pragma once

#include <cstdint>
#include <vector>

#include "common/rng/philox.h"

namespace lockstep {

class EpochOrder {
 public:
  EpochOrder(uint64_t seed, uint64_t size) : seed_(seed), size_(size) {}
  uint64_t size() const { return size_; }
  // The item of global sample g.
  uint64_t item(uint64_t g) {
    const uint64_t epoch = g / size_;
    return permutation(epoch)[g % size_];
  }
  const std::vector<uint64_t>& permutation(uint64_t epoch) {
    for (Cached& c : cache_) if (c.valid && c.epoch == epoch) return c.perm;
    Cached& slot = cache_[next_];
    next_ ^= 1;
    slot.epoch = epoch;
    slot.valid = true;
    slot.perm.resize(size_);
    for (uint64_t i = 0; i < size_; ++i) slot.perm[i] = i;
    CounterRng rng(seed_, 0, epoch, Stream::kPermutation);  // Fisher-Yates
    for (uint64_t i = size_; i > 1; --i) std::swap(slot.perm[i - 1], slot.perm[rng.below(i)]);
    return slot.perm;
  }

 private:
  struct Cached {
    uint64_t epoch = 0;
    bool valid = false;
    std::vector<uint64_t> perm;
  };
  uint64_t seed_, size_;
  Cached cache_[2];
  int next_ = 0;
};

}  // namespace lockstep
