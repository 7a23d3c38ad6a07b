// Counter-based random numbers (Philox4x32-10, Salmon et al. 2011), the source of all randomness in Lockstep.
//
// Contract (docs/design.md, "The determinism contract"): everything random about global sample j of tick s is a pure function of
// (seed, s, j, stream). The 128-bit Philox counter is laid out as
//     c0 = block index within the stream, c1 = stream, c2 = sample index j, c3 = tick s,
// and the 64-bit key is the seed. Any rank can therefore draw exactly the numbers of its own slice, in any
// order, without communication. The output equals ATen's at::philox_engine(seed, subsequence = j | s << 32,
// offset = stream << 32 | block) (checked in tests/test_rng.cpp).
#pragma once

#include <cmath>
#include <cstdint>

namespace lockstep {

// Named streams keep the different uses of one (seed, tick, sample) independent.
enum class Stream : uint32_t {
  kDataIndex = 1,   // which data item (finite data sets) / the fresh point (infinite ones)
  kTime = 2,        // u_j of the stratified time t_j = (j + u_j) / B
  kNoise = 3,       // the path noise epsilon
  kLabelDrop = 4,   // classifier-free guidance label dropout
  kTvmGap = 5,      // train.loss TVM: the gap s - t of the jump
  kTvmFm = 6,       // train.loss TVM: the time r of the flow-matching term
  kGuidanceScale = 7, // train.loss TVM: the guidance scale input w
  kSource = 8,      // a data source's draw x0 (source.name "data"), in place of the noise
  kCoupling = 9,    // train.coupling OT_SINKHORN: the partner drawn from the plan's row
  kFlip = 10,       // data.xflip: whether the item is flipped horizontally
  kSampleInit = 16, // initial noise of sample i at sampling time (tick field = 0)
  kSampleSde = 17,  // SDE noise at sampling time
  kEvalData = 18,   // fresh data points drawn for evaluation (data.npy)
  kDequantize = 19, // uniform dequantization noise of discrete data in likelihoods (sample field = the row)
  kPermutation = 32 // the epoch permutation of a finite data set (sample field = epoch)
};

struct Philox4x32 {
  static void round(uint32_t c[4], const uint32_t k[2]) {
    const uint64_t p0 = uint64_t{0xD2511F53u} * c[0];
    const uint64_t p1 = uint64_t{0xCD9E8D57u} * c[2];
    const uint32_t hi0 = static_cast<uint32_t>(p0 >> 32), lo0 = static_cast<uint32_t>(p0);
    const uint32_t hi1 = static_cast<uint32_t>(p1 >> 32), lo1 = static_cast<uint32_t>(p1);
    c[0] = hi1 ^ c[1] ^ k[0];
    c[1] = lo1;
    c[2] = hi0 ^ c[3] ^ k[1];
    c[3] = lo0;
  }
  // Philox4x32-10 of counter `ctr` under `key`, written to out.
  static void block(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
    uint32_t k[2] = {key[0], key[1]};
    for (int r = 0; r < 10; ++r) {
      if (r > 0) {
        k[0] += 0x9E3779B9u;
        k[1] += 0xBB67AE85u;
      }
      round(c, k);
    }
    out[0] = c[0], out[1] = c[1], out[2] = c[2], out[3] = c[3];
  }
};

// A sequential reader over one (seed, tick, sample, stream) counter range.
class CounterRng {
 public:
  CounterRng(uint64_t seed, uint64_t tick, uint64_t sample, Stream stream)
      : key_{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)},
        ctr_{0u, static_cast<uint32_t>(stream), static_cast<uint32_t>(sample), static_cast<uint32_t>(tick)} {}

  uint32_t next_u32() {
    if (used_ == 4) {
      Philox4x32::block(ctr_, key_, buf_);
      ++ctr_[0];
      used_ = 0;
    }
    return buf_[used_++];
  }
  uint64_t next_u64() {
    uint64_t lo = next_u32();
    return lo | (uint64_t{next_u32()} << 32);
  }
  // Uniform in the open interval (0, 1), 53 random bits.
  double uniform() { return ((next_u64() >> 11) + 0.5) * (1.0 / 9007199254740992.0); }
  // Uniform integer in [0, n), without modulo bias (Lemire's method on 64 bits is overkill here: n < 2^32).
  uint64_t below(uint64_t n) {
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next_u64(); while (x >= limit);
    return x % n;
  }
  // Standard normal by Box-Muller; numbers come in pairs, the second is kept for the next call.
  double normal() {
    if (have_spare_) {
      have_spare_ = false;
      return spare_;
    }
    const double u1 = uniform(), u2 = uniform();
    const double r = std::sqrt(-2.0 * std::log(u1));
    const double a = 6.283185307179586476925286766559 * u2;
    spare_ = r * std::sin(a);
    have_spare_ = true;
    return r * std::cos(a);
  }

 private:
  uint32_t key_[2];
  uint32_t ctr_[4];
  uint32_t buf_[4] = {0, 0, 0, 0};
  int used_ = 4;
  double spare_ = 0.0;
  bool have_spare_ = false;
};

}  // namespace lockstep
