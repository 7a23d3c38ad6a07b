// The MPI backend (comm_mpi.cpp). Requires an active MpiSession.
#pragma once

#include <memory>

#include "common/comm/comm.h"

namespace lockstep {

std::unique_ptr<Comm> make_mpi_comm();

}  // namespace lockstep
