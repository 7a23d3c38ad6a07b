// The shared-memory backend (comm_shm.cpp): for MPI ranks that all run on one machine, the gradient all-reduce
// sums through shared memory (shm_allreduce.h: no system calls, the same bits on every rank in rank order), while
// broadcast, gather and barrier go over the MPI communicator it wraps. No torch.
//
// Contract: make_shm_comm(mpi, shm) takes both: `shm` must have been made over `mpi` (ShmAllreduce::create, which
// is collective and decides alike on every rank; the registry does that and falls back to `mpi` when it fails).
// reduce_buffer() gives the memory of the flat gradient buffer in shared memory, where allreduce_start() sums a
// call without copying it in or out.
#pragma once

#include <memory>

#include "common/comm/comm.h"

namespace lockstep {

class ShmAllreduce;

std::unique_ptr<Comm> make_shm_comm(std::unique_ptr<Comm> mpi, std::unique_ptr<ShmAllreduce> shm);

}  // namespace lockstep
