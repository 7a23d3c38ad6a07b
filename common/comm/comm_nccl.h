// The NCCL backend (comm_nccl.cpp): gradient all-reduce of CUDA buffers with NCCL, one GPU per rank chosen by
// its local rank; bytes, barriers and the NCCL unique id go over MPI. Built only when CUDA and NCCL are found;
// requires an active MpiSession.
#pragma once

#include <memory>

#include "common/comm/comm.h"

namespace lockstep {

std::unique_ptr<Comm> make_nccl_comm();

}  // namespace lockstep
