// Ranks agree on the config before the first tick.
//
// Contract: check_config_agreement() is collective and runs on the first frame of a run, before anything is built
// or written (the communicator itself follows rank 0's engine.backend, comm_registry.h): that frame carries
// config_hash, the hash of rank 0's effective config text (common/util/hash.h).
// Every rank compares it with the hash of its own; a rank whose config differs sends its text to rank 0, which
// names, for each such rank, the first differing field with both values (common/config/config_diff.h). Then every
// rank throws BadInput with that message (exit code 2), so the job stops before the first tick; where all agree,
// nothing happens beyond one gather and one broadcast.
#pragma once

#include <cstdint>
#include <string>

#include "common/comm/comm.h"
#include "common/proto/engine.pb.h"

namespace lockstep {

uint64_t config_hash(const std::string& config_text);
void check_config_agreement(Comm& comm, const Frame& first, const std::string& config_text);

}  // namespace lockstep
