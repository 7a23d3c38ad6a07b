// The MPI backend (comm_mpi.cpp): host buffers, every collective over MPI. Requires an active MpiSession.
#pragma once

#include <memory>
#include <string>

#include "common/comm/comm.h"

namespace lockstep {

class MpiBackend : public Comm {
 public:
  // When every rank runs on this machine, why the gradients are not summed in shared memory instead (comm_shm.h),
  // for allreduce_path().
  virtual void set_allreduce_note(const std::string& why_not_shared) = 0;
};

// Collective over MPI_COMM_WORLD (it duplicates it).
std::unique_ptr<MpiBackend> make_mpi_comm();

}  // namespace lockstep
