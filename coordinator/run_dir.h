// The run directory of `lockstep train`: prepared by rank 0 before the first tick.
//
// Contract: prepare_run_dir() is collective. Rank 0 refuses a directory that already holds a run (metrics.jsonl)
// unless this is a resume of it; on resume it cuts metrics.jsonl back to the checkpoint's tick (lines of later ticks
// dropped, and a torn last line; written atomically) so that the resumed run continues the file; then it creates
// the directory and writes config.textproto (atomically). Every rank learns whether that worked: BadInput on every
// rank, with rank 0's message, when it did not.
#pragma once

#include <cstdint>
#include <string>

#include "common/comm/comm.h"

namespace lockstep {

void prepare_run_dir(Comm& comm, const std::string& run_dir, const std::string& config_text, const uint64_t* resume_tick);

// Keeps the lines of the metrics file up to `tick` (exposed for tests).
void cut_metrics(const std::string& path, uint64_t tick);

}  // namespace lockstep
