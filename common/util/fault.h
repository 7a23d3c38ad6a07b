// Fault injection for the engine's negative tests, read once from LOCKSTEP_FAULT:
//   "perturb:RANK:TICK"  rank RANK adds 1e-3 to its first parameter after tick TICK (a desynchronised replica)
//   "kill:RANK:TICK"     rank RANK sends itself SIGKILL at the start of tick TICK (a lost rank)
//   "stall:RANK:TICK"    rank RANK sleeps for an hour at the start of tick TICK (a hung rank)
// Unset in normal use; documented in the README under Tests. No torch.
#pragma once

#include <cstdint>
#include <string>

namespace lockstep {

struct Fault {
  std::string kind;  // "", "perturb", "kill", "stall"
  int rank = -1;
  uint64_t tick = 0;
  bool hits(const char* k, int r, uint64_t t) const { return kind == k && rank == r && tick == t; }
};

const Fault& injected_fault();

}  // namespace lockstep
