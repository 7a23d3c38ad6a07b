// Fault injection for the engine's negative tests, read once from LOCKSTEP_FAULT:
//   "perturb:RANK:TICK"  rank RANK adds 1e-3 to its first parameter after tick TICK (a desynchronised replica)
//   "kill:RANK:TICK"     rank RANK sends itself SIGKILL at the start of tick TICK (a lost rank)
//   "stall:RANK:TICK"    rank RANK sleeps for an hour at the start of tick TICK (a hung rank)
//   "nan:RANK:TICK"      rank RANK's loss of tick TICK becomes NaN (a diverging batch)
//   "term:RANK:TICK"     rank RANK sends itself SIGTERM at the start of tick TICK (preemption at a known tick)
//   "slow:RANK:TICK"     from tick TICK on, rank RANK's data phase takes 200 µs more per sample of its slice (a
//                        slower core: what engine.balance AUTO should move samples away from)
//   "ckpt_kill:RANK:TICK" rank RANK, when it writes the checkpoint after tick TICK, writes half of the
//                        temporary file and sends itself SIGKILL (a crash during a checkpoint write)
// Unset in normal use; documented in the README under Tests. No torch.
#pragma once

#include <cstdint>
#include <string>

namespace lockstep {

struct Fault {
  std::string kind;  // "", or one of the kinds above
  int rank = -1;
  uint64_t tick = 0;
  bool hits(const char* k, int r, uint64_t t) const { return kind == k && rank == r && tick == t; }
  bool since(const char* k, int r, uint64_t t) const { return kind == k && rank == r && t >= tick; }  // from TICK on
};

const Fault& injected_fault();

}  // namespace lockstep
