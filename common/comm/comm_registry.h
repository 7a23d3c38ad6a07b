// The one place that knows which communication backends were built (DESIGN.md section 4).
//
// Contract: make_comm(name) builds the communicator named by engine.backend: "auto" (mpi when the process was
// started by mpirun or srun, else self), "self", "mpi", "nccl". MPI-based backends need an active MpiSession.
// Asking for a backend that was not built throws BadInput naming the ones that were.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/comm/comm.h"

namespace lockstep {

std::vector<std::string> built_backends();
// Every backend name the config accepts (built or not).
const std::vector<std::string>& known_backends();
// shm_allreduce: engine.shm_allreduce (backend mpi only; see comm_mpi.h).
std::unique_ptr<Comm> make_comm(const std::string& name, bool shm_allreduce = true);
// The backend that "auto" resolves to in this process.
std::string resolve_backend(const std::string& name);

}  // namespace lockstep
