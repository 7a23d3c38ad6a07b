// Waiting for a collective by polling: the one back-off of the MPI backend (comm_mpi.cpp) and the shared-memory
// all-reduce (shm_allreduce.cpp). No MPI, no torch.
//
// Contract: a waiting rank first spins for poll_spin_s(ranks on this machine): 2 ms while every rank on the
// machine can have a core of its own (the fastest hand-over), else 0.2 ms. After that, poll_pause() sleeps
// between polls so that the rank yields its core: 20 µs, and 200 µs once it has waited 10 ms. poll_limit_s():
// rank 0 gives up at the timeout and the others 5 s later, so that rank 0 speaks first and names the ranks
// that did not arrive. waited_text() is the start of the timeout's message, the same words for every backend.
#pragma once

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>

namespace lockstep {

inline double poll_spin_s(int ranks_on_machine) {
  return static_cast<unsigned>(ranks_on_machine) <= std::max(1u, std::thread::hardware_concurrency()) ? 2e-3 : 2e-4;
}

inline void poll_pause(double waited_s, double spin_s) {
  if (waited_s <= spin_s) return;
  timespec ts{0, waited_s > 0.01 ? 200000 : 20000};
  nanosleep(&ts, nullptr);
}

inline double poll_limit_s(int rank, double timeout_s) { return rank == 0 ? timeout_s : timeout_s + 5.0; }

// "<op> waited 12 s on rank 1 (engine.collective_timeout_s = 10); "
inline std::string waited_text(const std::string& op, double waited_s, int rank, double timeout_s) {
  char limit[32];
  std::snprintf(limit, sizeof limit, "%g", timeout_s);
  return op + " waited " + std::to_string(static_cast<int>(waited_s)) + " s on rank " + std::to_string(rank) +
         " (engine.collective_timeout_s = " + limit + "); ";
}

}  // namespace lockstep
