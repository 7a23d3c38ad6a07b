// Threads as ranks for tests: runs body(rank, comm) on n threads over make_local_comms(n) and returns each
// rank's error text (empty when its body returned). Assertions belong on the main thread (Catch2 v2 is not
// thread-safe).
#pragma once

#include <exception>
#include <string>
#include <thread>
#include <vector>

#include "common/comm/comm.h"

namespace lockstep::test {

template <class F>
std::vector<std::string> run_thread_ranks(int n, F body) {
  auto comms = make_local_comms(n);
  std::vector<std::thread> threads;
  std::vector<std::string> errors(n);
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      try {
        body(r, *comms[r]);
      } catch (const std::exception& e) {
        errors[r] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  return errors;
}

}  // namespace lockstep::test
