// engine.balance AUTO (coordinator/auto_balance.h): the split is equal until every rank is measured, then follows
// the ranks' speeds with cuts on the granule, stays put for differences too small to pay, shrugs off one slow
// tick, and always covers the global batch with every rank keeping some work. Also the slow fault that the
// processes' AUTO tests slow a rank with (common/util/fault.h).
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "common/util/error.h"
#include "common/util/fault.h"
#include "coordinator/auto_balance.h"

using lockstep::AutoBalance;

namespace {

using Bounds = std::vector<uint64_t>;

// `ticks` ticks on which rank r computes its slice at rates[r] samples per second
void play(AutoBalance& b, const std::vector<double>& rates, int ticks) {
  for (int t = 0; t < ticks; ++t) {
    const Bounds& cut = b.bounds();
    for (size_t r = 0; r < rates.size(); ++r) {
      const uint64_t n = cut[r + 1] - cut[r];
      b.observe(static_cast<int>(r), n, static_cast<double>(n) / rates[r]);
    }
    b.update();
  }
}

}  // namespace

TEST_CASE("AUTO balance: equal until measured, then proportional to speed on the granule", "[engine]") {
  AutoBalance b(1024, 2);
  CHECK(b.granule() == 8);
  CHECK(b.bounds() == Bounds{0, 512, 1024});
  b.observe(0, 512, 1.0);  // a first tick, 10x slower than the next ones: ignored
  b.observe(1, 512, 5.0);
  b.update();
  CHECK(b.bounds() == Bounds{0, 512, 1024});
  b.observe(0, 512, 512.0 / 3000);
  b.update();
  CHECK(b.bounds() == Bounds{0, 512, 1024});  // rank 1 not measured yet
  play(b, {3000, 1000}, 1);
  CHECK(b.bounds() == Bounds{0, 768, 1024});  // 3:1
  AutoBalance four(1000, 4);
  play(four, {1000, 2000, 3000, 4000}, 40);
  const Bounds& cut = four.bounds();
  CHECK(cut.front() == 0);
  CHECK(cut.back() == 1000);
  for (int r = 1; r < 4; ++r) CHECK(cut[r] % 8 == 0);
  for (int r = 0; r < 4; ++r) CHECK(static_cast<double>(cut[r + 1] - cut[r]) == Approx(100.0 * (r + 1)).margin(8));
  AutoBalance small(10, 3);  // under 32 samples a rank: the granule is one sample
  CHECK(small.granule() == 1);
  play(small, {1, 1, 8}, 5);
  CHECK(small.bounds() == Bounds{0, 1, 2, 10});
}

TEST_CASE("AUTO balance: small differences and single slow ticks leave the split alone", "[engine]") {
  AutoBalance b(1024, 2);
  play(b, {1000, 1004}, 50);  // 0.4% apart: moving a granule (0.8%) would not pay
  CHECK(b.bounds() == Bounds{0, 512, 1024});
  play(b, {1000, 1030}, 50);  // 3% apart: 8 samples move to the faster rank
  CHECK(b.bounds() == Bounds{0, 504, 1024});
  // one tick on which rank 0 is preempted for 10x its compute: the estimate moves at most 2.5%, the split by 8
  const Bounds before = b.bounds();
  b.observe(0, before[1], 10.0 * static_cast<double>(before[1]) / 1000);
  b.observe(1, 1024 - before[1], static_cast<double>(1024 - before[1]) / 1030);
  b.update();
  CHECK(b.bounds()[1] + 8 >= before[1]);
}

TEST_CASE("AUTO balance: a very slow rank keeps some work and the batch stays covered", "[engine]") {
  AutoBalance b(512, 3);
  play(b, {1000, 1, 1000}, 100);
  const Bounds& cut = b.bounds();
  CHECK(cut.front() == 0);
  CHECK(cut.back() == 512);
  CHECK(cut[2] - cut[1] >= 8);   // at least 5% of the mean rate
  CHECK(cut[2] - cut[1] <= 24);
  for (int r = 0; r < 3; ++r) CHECK(cut[r] <= cut[r + 1]);
  AutoBalance two(64, 2);  // 150x slower: 5% of the mean rate would round to no sample; one granule is the least
  play(two, {150000, 1000}, 10);
  CHECK(two.bounds() == Bounds{0, 56, 64});
}

TEST_CASE("the slow fault that AUTO balance is tested with: 200 us a sample, or the microseconds it is given", "[engine]") {
  using Clock = std::chrono::steady_clock;
  auto delay_s = [](const char* fault, uint64_t tick) {
    ::setenv("LOCKSTEP_FAULT", fault, 1);
    const lockstep::FaultInjector faults(1);
    ::unsetenv("LOCKSTEP_FAULT");
    const auto t0 = Clock::now();
    faults.at(lockstep::FaultPhase::kData, tick, 10);
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  // where no delay is due, it is checked against one of 10 x 100 ms that it would be, not a few milliseconds that
  // a loaded machine's scheduler could take by itself
  CHECK(delay_s("slow:1:3:100000", 2) < 0.5);  // not yet
  CHECK(delay_s("slow:1:3", 3) >= 0.002);      // 10 samples at 200 us
  CHECK(delay_s("slow:1:0:3000", 5) >= 0.030);
  CHECK(delay_s("slow:0:0:100000", 5) < 0.5);  // another rank's
  for (const char* bad : {"slow:1:0:", "slow:1:0:x", "slow:1:0:2000000", "nan:1:0:5", "slow:1", "slow:1:0:5:5"}) {
    INFO(bad);
    ::setenv("LOCKSTEP_FAULT", bad, 1);
    CHECK_THROWS_AS(lockstep::FaultInjector(1), lockstep::BadInput);
    ::unsetenv("LOCKSTEP_FAULT");
  }
}
