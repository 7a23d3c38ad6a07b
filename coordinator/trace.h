// The Chrome-trace timeline (chrome://tracing, Perfetto): one track per rank, one slice per phase of a tick.
//
// Contract: add() takes the phase times the ranks reported for one tick (only ticks in
// [engine.trace_begin, engine.trace_end) are added); write() writes <run>/trace.json atomically in the
// Trace Event Format ("X" complete events, microseconds, pid 0, tid = rank). Rank 0 only.
#pragma once

#include <string>
#include <vector>

#include "common/proto/engine.pb.h"

namespace lockstep {

class Trace {
 public:
  void add(uint64_t tick, const std::vector<Timings>& per_rank);
  void write(const std::string& path) const;
  bool empty() const { return events_.empty(); }

 private:
  std::vector<std::string> events_;
  int ranks_ = 0;
};

}  // namespace lockstep
