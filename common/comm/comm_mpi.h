// The MPI backend (comm_mpi.cpp). Requires an active MpiSession.
#pragma once

#include <memory>

#include "common/comm/comm.h"

namespace lockstep {

// shm_allreduce: sum through shared memory (shm_allreduce.h) when every rank runs on this machine; when the
// shared memory cannot be made, MPI_Iallreduce is used and allreduce_path() says why.
std::unique_ptr<Comm> make_mpi_comm(bool shm_allreduce);

}  // namespace lockstep
