// The shared-memory all-reduce (common/comm/shm_allreduce.h) with threads as ranks: exact sums, the rank-order
// sum bit for bit on every rank, calls longer than a slot, several in flight, skewed ranks that reuse the slots
// many times over, the same for calls in the shared buffers (share_buffer: summed without copies, mixed with
// slot calls), and a missing rank named by the timeout. Assertions run on the main thread.
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

float* share(ShmAllreduce& shm, Comm& comm, size_t floats) {
  std::string why;
  float* buf = shm.share_buffer(comm, floats, &why);
  if (buf == nullptr) throw std::runtime_error("share_buffer: " + why);
  return buf;
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

TEST_CASE("shared-memory all-reduce: calls in the shared buffers give the rank-order bits, mixed with slot calls", "[comm]") {
  const size_t slot = ShmAllreduce::kSlotFloats;
  const std::vector<size_t> sizes = {0, 1, 15, 17, 1000, 4099, slot + 5, 2 * slot + 333};
  size_t total = 0;
  for (size_t n : sizes) total += n + 3;  // odd offsets: calls start anywhere in the buffer
  for (int n : {2, 3, 4}) {
    std::vector<std::vector<std::vector<float>>> got(n), got_slots(n);  // [rank][call]
    const auto errors = run_thread_ranks(n, [&](int r, Comm& comm) {
      auto shm = make(comm);
      shm->set_timeout(60);
      float* buf = share(*shm, comm, total);
      for (size_t i = 0; i < total; ++i) {
        if (buf[i] != 0.0f) throw std::runtime_error("the shared buffer does not start zeroed");
      }
      size_t offset = 3;
      for (int c = 0; c < static_cast<int>(sizes.size()); ++c) {
        float* data = buf + offset;
        for (size_t i = 0; i < sizes[c]; ++i) data[i] = value(r, i, c);
        std::vector<float> other(sizes[c] / 3);  // a slot call in flight beside it
        for (size_t i = 0; i < other.size(); ++i) other[i] = value(r, i, c + 100);
        auto a = shm->start(data, sizes[c]);
        auto b = shm->start(other.data(), other.size());
        a->wait();
        b->wait();
        got[r].emplace_back(data, data + sizes[c]);
        got_slots[r].push_back(std::move(other));
        offset += sizes[c] + 3;
      }
    });
    for (int r = 0; r < n; ++r) {
      INFO(n << " ranks, rank " << r << ": " << errors[r]);
      REQUIRE(errors[r].empty());
    }
    for (size_t c = 0; c < sizes.size(); ++c) {
      for (const int salt : {0, 100}) {
        const size_t m = salt == 0 ? sizes[c] : sizes[c] / 3;
        std::vector<float> want(m);
        for (size_t i = 0; i < m; ++i) {
          float acc = value(0, i, static_cast<int>(c) + salt);
          for (int q = 1; q < n; ++q) acc += value(q, i, static_cast<int>(c) + salt);
          want[i] = acc;
        }
        for (int r = 0; r < n; ++r) {
          INFO(n << " ranks, " << (salt == 0 ? "shared" : "slot") << " call of " << m << " floats, rank " << r);
          const std::vector<float>& have = salt == 0 ? got[r][c] : got_slots[r][c];
          REQUIRE(have.size() == want.size());
          CHECK(std::memcmp(have.data(), want.data(), want.size() * sizeof(float)) == 0);
        }
      }
    }
  }
}

TEST_CASE("shared-memory all-reduce: skewed ranks rewrite their shared buffers only after every rank is done", "[comm]") {
  // Like a gradient buffer: every tick each rank zeroes and refills its whole shared buffer, starts its buckets
  // from the end of the buffer backwards, with random sleeps, and waits for them in order; a rank that ran ahead
  // into the next tick while another still read or wrote its buffer would show as a wrong sum.
  const int n = 3, ticks = 60;
  const std::vector<size_t> buckets = {70000, 1, 300000, 513};
  size_t total = 0;
  for (size_t b : buckets) total += b;
  std::vector<std::string> mismatch(n);
  const auto errors = run_thread_ranks(n, [&](int r, Comm& comm) {
    auto shm = make(comm);
    shm->set_timeout(60);
    float* buf = share(*shm, comm, total);
    std::mt19937 g(static_cast<uint32_t>(r + 1));
    for (int t = 0; t < ticks; ++t) {
      std::fill(buf, buf + total, 0.0f);
      std::vector<std::unique_ptr<PendingReduce>> pending;
      size_t end = total;
      for (size_t b : buckets) {
        float* data = buf + end - b;
        for (size_t i = 0; i < b; ++i) data[i] = static_cast<float>((r + 1) * (t + 1) + static_cast<int>(i % 1000));
        std::this_thread::sleep_for(std::chrono::microseconds(g() % 300));
        pending.push_back(shm->start(data, b));
        pending.back()->test();
        end -= b;
      }
      for (auto& p : pending) p->wait();
      end = total;
      for (size_t b = 0; b < buckets.size() && mismatch[r].empty(); ++b) {
        const float* data = buf + end - buckets[b];
        for (size_t i = 0; i < buckets[b]; ++i) {
          const float want = static_cast<float>(6 * (t + 1) + n * static_cast<int>(i % 1000));
          if (data[i] != want) {
            mismatch[r] = "tick " + std::to_string(t) + " bucket " + std::to_string(b) + " element " + std::to_string(i) + ": " +
                          std::to_string(data[i]) + " != " + std::to_string(want);
            break;
          }
        }
        end -= buckets[b];
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
