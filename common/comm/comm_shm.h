// The shared-memory backend (comm_shm.cpp): for MPI ranks that all run on one machine, the gradient all-reduce
// sums through shared memory (shm_allreduce.h: no system calls, the same bits on every rank in rank order), while
// broadcast, gather and barrier go over the MPI communicator it wraps. No torch.
//
// Contract: make_shm_comm(mpi, why_not) is collective over `mpi` (every rank calls it at the same point) and
// returns the shared-memory communicator, or nullptr on every rank with the reason when the ranks are not all on
// this machine or the shared memory could not be made; `mpi` is then left to the caller (the registry falls back to
// it). reduce_buffer() gives the memory of the flat gradient buffer in shared memory, where allreduce_start() sums
// a call without copying it in or out.
#pragma once

#include <memory>
#include <string>

#include "common/comm/comm.h"

namespace lockstep {

std::unique_ptr<Comm> make_shm_comm(std::unique_ptr<Comm>& mpi, std::string* why_not);

}  // namespace lockstep
