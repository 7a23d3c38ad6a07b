// The shared-memory all-reduce (common/comm/shm_allreduce.h) with threads as ranks: exact sums, the rank-order
// sum bit for bit on every rank, calls longer than a slot, several in flight, skewed ranks that reuse the slots
// many times over, and a missing rank named by the timeout. Assertions run on the main thread.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>

#include "common/comm/comm.h"
#include "common/comm/shm_allreduce.h"
#include "tests/thread_ranks.h"

using namespace lockstep;
using lockstep::test::run_thread_ranks;

namespace {

std::unique_ptr<ShmAllreduce> make(Comm& comm) {
  std::string why;
  auto shm = ShmAllreduce::create(comm, &why);
  if (!shm) throw std::runtime_error("ShmAllreduce::create: " + why);
  return shm;
}

// Rank q's value of element i in call c: random, so that the order of the sum shows in the bits (splitmix64 of
// the triple: seeding a Mersenne twister per element made this file's first test take 75 s).
float value(int q, size_t i, int c) {
  uint64_t z = (static_cast<uint64_t>(q) << 40) ^ (static_cast<uint64_t>(c) << 32) ^ i;
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  z ^= z >> 31;
  const float u = static_cast<float>(z >> 40) / static_cast<float>(1u << 24) * 2.0f - 1.0f;  // [-1, 1)
  return u * (1.0f + static_cast<float>(i % 97));
}

}  // namespace

TEST_CASE("shared-memory all-reduce: every rank gets the rank-order sum bit for bit", "[comm]") {
  const size_t slot = ShmAllreduce::kSlotFloats;
  const std::vector<size_t> sizes = {0, 1, 15, 17, 1000, 4099, slot - 1, slot, slot + 5, 2 * slot + 333};
  for (int n : {2, 3, 4}) {
    std::vector<std::vector<std::vector<float>>> got(n);  // [rank][call]
    const auto errors = run_thread_ranks(n, [&](int r, Comm& comm) {
      auto shm = make(comm);
      shm->set_timeout(60);
      for (int c = 0; c < static_cast<int>(sizes.size()); ++c) {
        std::vector<float> v(sizes[c]);
        for (size_t i = 0; i < v.size(); ++i) v[i] = value(r, i, c);
        shm->start(v.data(), v.size())->wait();
        got[r].push_back(std::move(v));
      }
    });
    for (int r = 0; r < n; ++r) {
      INFO(n << " ranks, rank " << r << ": " << errors[r]);
      REQUIRE(errors[r].empty());
    }
    for (size_t c = 0; c < sizes.size(); ++c) {
      std::vector<float> want(sizes[c]);
      for (size_t i = 0; i < want.size(); ++i) {
        float acc = value(0, i, static_cast<int>(c));
        for (int q = 1; q < n; ++q) acc += value(q, i, static_cast<int>(c));
        want[i] = acc;
      }
      for (int r = 0; r < n; ++r) {
        INFO(n << " ranks, call of " << sizes[c] << " floats, rank " << r);
        REQUIRE(got[r][c].size() == want.size());
        CHECK(std::memcmp(got[r][c].data(), want.data(), want.size() * sizeof(float)) == 0);
      }
    }
  }
}

TEST_CASE("shared-memory all-reduce: buckets in flight and skewed ranks reuse the slots correctly", "[comm]") {
  // 60 ticks of 3 buckets started back to back and waited in order; each rank sleeps a random while between
  // steps, so ranks run ahead of each other by up to a few ticks' worth of slots. Integer values: exact sums.
  const int n = 3, ticks = 60;
  const std::vector<size_t> buckets = {70000, 1, 300000};  // the last one is two segments
  std::vector<std::string> mismatch(n);
  const auto errors = run_thread_ranks(n, [&](int r, Comm& comm) {
    auto shm = make(comm);
    shm->set_timeout(60);
    std::mt19937 g(static_cast<uint32_t>(r + 1));
    std::vector<std::vector<float>> v(buckets.size());
    for (int t = 0; t < ticks; ++t) {
      std::vector<std::unique_ptr<PendingReduce>> pending;
      for (size_t b = 0; b < buckets.size(); ++b) {
        v[b].resize(buckets[b]);
        for (size_t i = 0; i < v[b].size(); ++i) v[b][i] = static_cast<float>((r + 1) * (t + 1) + static_cast<int>(i % 1000));
        std::this_thread::sleep_for(std::chrono::microseconds(g() % 300));
        pending.push_back(shm->start(v[b].data(), v[b].size()));
        pending.back()->test();
      }
      for (auto& p : pending) p->wait();
      for (size_t b = 0; b < buckets.size() && mismatch[r].empty(); ++b) {
        for (size_t i = 0; i < v[b].size(); ++i) {
          const float want = static_cast<float>(6 * (t + 1) + n * static_cast<int>(i % 1000));  // (1+2+3)(t+1) + n(i%1000)
          if (v[b][i] != want) {
            mismatch[r] = "tick " + std::to_string(t) + " bucket " + std::to_string(b) + " element " + std::to_string(i) + ": " +
                          std::to_string(v[b][i]) + " != " + std::to_string(want);
            break;
          }
        }
      }
    }
  });
  for (int r = 0; r < n; ++r) {
    INFO("rank " << r << ": " << errors[r] << mismatch[r]);
    CHECK(errors[r].empty());
    CHECK(mismatch[r].empty());
  }
}

TEST_CASE("shared-memory all-reduce: a rank that never arrives is named by the timeout", "[comm]") {
  const auto errors = run_thread_ranks(3, [&](int r, Comm& comm) {
    auto shm = make(comm);
    shm->set_timeout(0.5);
    if (r == 2) return;  // never calls the reduce
    std::vector<float> v(1000, 1.0f);
    shm->start(v.data(), v.size())->wait();
  });
  for (int r : {0, 1}) {  // rank 0 after the timeout, the others 5 s later (so that rank 0 speaks first)
    INFO("rank " << r << ": " << errors[r]);
    CHECK_THAT(errors[r], Catch::Contains("waited " + std::to_string(r == 0 ? 0 : 5) + " s on rank " + std::to_string(r)) &&
                              Catch::Contains("collective_timeout_s = 0.5); ranks that did not arrive: 2"));
  }
  CHECK(errors[2].empty());
}
