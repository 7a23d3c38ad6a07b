// Broadcast and gather of bytes through shared memory (common/comm/shm_bytes.h) with threads as ranks: many calls
// with changing roots and sizes (empty, around and over the capacity) while ranks run ahead of each other, and a
// missing rank named by the timeout. Assertions run on the main thread.
#include <catch2/catch.hpp>

#include <chrono>
#include <random>
#include <thread>

#include "common/comm/comm.h"
#include "common/comm/shm_bytes.h"
#include "tests/thread_ranks.h"

using namespace lockstep;
using lockstep::test::run_thread_ranks;

namespace {

std::unique_ptr<ShmBytes> make(Comm& comm) {
  std::string why;
  auto shm = ShmBytes::create(comm, &why);
  if (!shm) throw std::runtime_error("ShmBytes::create: " + why);
  shm->set_timeout(60);
  return shm;
}

// The message of rank q in call c: its length cycles through sizes around the capacity.
std::string message(int q, int c) {
  const size_t cap = ShmBytes::kCapacity;
  const size_t sizes[] = {0, 1, 100, 4099, cap - 1, cap, cap + 1, 3 * cap};
  std::string m(sizes[static_cast<size_t>(q + c) % 8], '\0');
  for (size_t i = 0; i < m.size(); ++i) m[i] = static_cast<char>((i * 131 + static_cast<size_t>(q) * 7 + static_cast<size_t>(c) * 13) & 0xff);
  return m;
}

}  // namespace

TEST_CASE("shared-memory bytes: broadcasts and gathers with changing roots arrive whole, in order, or say they did not fit", "[comm]") {
  const int calls = 200;
  for (int n : {2, 3, 4}) {
    std::vector<std::string> problems(n);
    const auto errors = run_thread_ranks(n, [&](int r, Comm& comm) {
      auto shm = make(comm);
      std::mt19937 g(static_cast<uint32_t>(r + 7));
      auto problem = [&](const std::string& what) {
        if (problems[r].empty()) problems[r] = what;
      };
      for (int c = 0; c < calls; ++c) {
        if (g() % 4 == 0) std::this_thread::sleep_for(std::chrono::microseconds(g() % 200));
        const int root = c % n;
        const bool fits_root = message(root, c).size() <= ShmBytes::kCapacity;
        if (c % 2 == 0) {
          std::string bytes = r == root ? message(r, c) : "untouched";
          const bool fit = shm->broadcast(&bytes, root);
          if (fit != fits_root) problem("call " + std::to_string(c) + ": broadcast said fit " + std::to_string(fit));
          const std::string want = fit || r == root ? message(root, c) : "untouched";
          if (bytes != want) problem("call " + std::to_string(c) + ": broadcast bytes differ");
        } else {
          std::vector<std::string> out;
          std::vector<int> too_big;
          const bool fit = shm->gather(message(r, c), root, &out, &too_big);
          if (r != root) {
            if (fit != (message(r, c).size() <= ShmBytes::kCapacity)) problem("call " + std::to_string(c) + ": gather said fit " + std::to_string(fit));
            if (!out.empty() || !too_big.empty()) problem("call " + std::to_string(c) + ": a non-root got output");
            continue;
          }
          std::vector<int> want_big;
          for (int q = 0; q < n; ++q) {
            const bool big = q != root && message(q, c).size() > ShmBytes::kCapacity;
            if (big) want_big.push_back(q);
            if (!big && (out.size() != static_cast<size_t>(n) || out[q] != message(q, c))) {
              problem("call " + std::to_string(c) + ": gathered bytes of rank " + std::to_string(q) + " differ");
            }
          }
          if (too_big != want_big) problem("call " + std::to_string(c) + ": wrong too_big list");
        }
      }
    });
    for (int r = 0; r < n; ++r) {
      INFO(n << " ranks, rank " << r << ": " << errors[r] << problems[r]);
      CHECK(errors[r].empty());
      CHECK(problems[r].empty());
    }
  }
}

TEST_CASE("shared-memory bytes: a rank that never arrives is named by the timeout", "[comm]") {
  const auto errors = run_thread_ranks(3, [&](int r, Comm& comm) {
    auto shm = make(comm);
    shm->set_timeout(0.5);
    if (r == 2) return;  // never joins
    std::vector<std::string> out;
    std::vector<int> too_big;
    shm->gather("report", 0, &out, &too_big);
    std::string frame = "frame";
    shm->broadcast(&frame, 0);
  });
  // rank 0 waits in the gather for rank 2; rank 1 waits for rank 0's frame, which never comes
  CHECK_THAT(errors[0], Catch::Contains("gather (shared memory, call 1) waited 0 s on rank 0 (engine.collective_timeout_s = 0.5); "
                                        "ranks that did not arrive: 2"));
  CHECK_THAT(errors[1], Catch::Contains("broadcast (shared memory, call 2) waited 5 s on rank 1") &&
                            Catch::Contains("ranks that did not arrive: 0"));
  CHECK(errors[2].empty());
}
