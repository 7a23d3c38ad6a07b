// The one place that knows which communication backends were built and which one a process uses
// (docs/design.md, "Communication").
//
// Contract: make_comm(name, shm_allreduce) builds the communicator named by engine.backend. "auto": when the
// process was started by mpirun or srun, the MPI ranks, summing gradients in shared memory (backend shm) when
// every rank runs on this machine and shm_allreduce is true, else over MPI (mpi); started alone, a world of one
// (self). "mpi" makes the same choice among MPI ranks; "shm" insists on shared memory (BadInput when impossible);
// "self", "nccl" as named. Among MPI ranks the choice is collective: every rank takes rank 0's backend and
// shm_allreduce (so that all build the same communicator; the config check of the first frame then names a rank whose
// config differs), and "self" on several ranks is refused on every rank. MPI-based backends need an active
// MpiSession. Asking for a backend that was not built throws BadInput naming the ones that
// were.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/comm/comm.h"

namespace lockstep {

std::vector<std::string> built_backends();
// Every backend name the config accepts (built or not).
const std::vector<std::string>& known_backends();
// shm_allreduce: engine.shm_allreduce (false: MPI ranks always sum over MPI; collectives without an all-reduce,
// such as sampling, pass false).
std::unique_ptr<Comm> make_comm(const std::string& name, bool shm_allreduce = true);
// The backend family that "auto" resolves to in this process: "mpi" (MPI ranks: mpi or shm) or "self".
std::string resolve_backend(const std::string& name);

}  // namespace lockstep
