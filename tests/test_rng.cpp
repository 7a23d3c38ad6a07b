// The counter-based generator: known-answer vectors, agreement with ATen's Philox, and its statistics.
#include <ATen/core/PhiloxRNGEngine.h>
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "common/data/order.h"
#include "common/rng/philox.h"

using namespace lockstep;

TEST_CASE("Philox4x32-10 matches the Random123 known-answer vectors", "[rng]") {
  struct Kat {
    uint32_t ctr[4], key[2], out[4];
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}, {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}, {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat& k : kats) {
    uint32_t out[4];
    Philox4x32::block(k.ctr, k.key, out);
    for (int i = 0; i < 4; ++i) CHECK(out[i] == k.out[i]);
  }
}

TEST_CASE("CounterRng equals ATen's philox_engine with the documented counter layout", "[rng]") {
  const uint64_t seed = 0x0123456789abcdefull, tick = 77, sample = 1234;
  const Stream stream = Stream::kNoise;
  CounterRng mine(seed, tick, sample, stream);
  at::philox_engine aten(seed, sample | (tick << 32), uint64_t{static_cast<uint32_t>(stream)} << 32);
  for (int i = 0; i < 64; ++i) REQUIRE(mine.next_u32() == aten());
}

TEST_CASE("Different tick or sample or stream give different numbers and equal ones equal numbers", "[rng]") {
  std::set<uint64_t> seen;
  for (uint64_t tick = 0; tick < 4; ++tick)
    for (uint64_t j = 0; j < 64; ++j)
      for (Stream s : {Stream::kDataIndex, Stream::kTime, Stream::kNoise}) seen.insert(CounterRng(7, tick, j, s).next_u64());
  CHECK(seen.size() == 4 * 64 * 3);
  CHECK(CounterRng(7, 3, 5, Stream::kTime).next_u64() == CounterRng(7, 3, 5, Stream::kTime).next_u64());
  CHECK(CounterRng(7, 3, 5, Stream::kTime).next_u64() != CounterRng(8, 3, 5, Stream::kTime).next_u64());
}

TEST_CASE("Uniform and normal draws have the right moments", "[rng]") {
  // n = 200000: the standard error of a mean is 1/sqrt(12 n) = 6.5e-4 (uniform) and 1/sqrt(n) = 2.2e-3 (normal);
  // the variance of N(0,1) squares has standard error sqrt(2/n) = 3.2e-3. Margins are 5 standard errors.
  const int n = 200000;
  CounterRng rng(42, 0, 0, Stream::kNoise);
  double su = 0, sn = 0, sn2 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    REQUIRE(u > 0.0);
    REQUIRE(u < 1.0);
    su += u;
    const double z = rng.normal();
    sn += z;
    sn2 += z * z;
  }
  CHECK(std::abs(su / n - 0.5) < 5 * 6.5e-4);
  CHECK(std::abs(sn / n) < 5 * 2.2e-3);
  CHECK(std::abs(sn2 / n - 1.0) < 5 * 3.2e-3);
}

TEST_CASE("below(n) is uniform over 0 to n-1", "[rng]") {
  // Chi-square over 10 cells with 100000 draws: 9 degrees of freedom, P(chi2 > 33.7) < 1e-4.
  const int n = 100000, cells = 10;
  std::vector<int> count(cells, 0);
  CounterRng rng(3, 1, 2, Stream::kDataIndex);
  for (int i = 0; i < n; ++i) ++count[rng.below(cells)];
  double chi2 = 0;
  for (int c : count) chi2 += (c - n / cells) * (c - n / cells) / static_cast<double>(n / cells);
  CHECK(chi2 < 33.7);
}

TEST_CASE("Every item appears exactly once per epoch and epochs differ", "[rng][data]") {
  EpochOrder order(5, 1000);
  for (uint64_t epoch = 0; epoch < 3; ++epoch) {
    std::set<uint64_t> items;
    for (uint64_t g = epoch * 1000; g < (epoch + 1) * 1000; ++g) items.insert(order.item(g));
    CHECK(items.size() == 1000);
    CHECK(*items.rbegin() == 999);
  }
  const std::vector<uint64_t> first = order.permutation(0);  // copies: the cache holds two epochs
  const std::vector<uint64_t> second = order.permutation(1);
  CHECK(first != second);
}
