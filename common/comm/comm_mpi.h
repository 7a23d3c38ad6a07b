// The MPI backend (comm_mpi.cpp): host buffers, every collective over MPI. Requires an active MpiSession.
#pragma once

#include <memory>
#include <string>

#include "common/comm/comm.h"

namespace lockstep {

// why_not_shared: when every rank runs on this machine, why the gradients are not summed in shared memory instead
// (comm_shm.h), for allreduce_path(); "" when nobody asked for that.
std::unique_ptr<Comm> make_mpi_comm(const std::string& why_not_shared = "");

}  // namespace lockstep
