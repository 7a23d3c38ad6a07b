// Work that only rank 0 does but every rank must learn the outcome of (reading a file, checking a directory).
//
// Contract: on_root(comm, work) runs `work` on rank 0; a BadInput it throws is broadcast, and every rank then throws
// the same BadInput (so all exit 2 together instead of the others waiting in the next collective). Any other
// exception leaves rank 0 alone (main() ends the job). Collective: every rank calls it. No torch.
#pragma once

#include <functional>
#include <string>

#include "common/comm/comm.h"
#include "common/util/error.h"

namespace lockstep {

inline void on_root(Comm& comm, const std::function<void()>& work) {
  std::string error;
  if (comm.rank() == 0) {
    try {
      work();
    } catch (const BadInput& e) {
      error = e.what();
    }
  }
  comm.broadcast(&error, 0);
  if (!error.empty()) throw BadInput(error);
}

}  // namespace lockstep
