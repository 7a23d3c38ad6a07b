// LS_CHECK_MPI(call): every MPI call goes through this; a failure throws CommError naming the call, the MPI
// error string, the file and the line. Include only in the MPI and NCCL backends.
#pragma once

#include <mpi.h>

#include <string>

#include "common/comm/comm.h"

namespace lockstep::detail {
[[noreturn]] void throw_mpi(int code, const char* call, const char* file, int line);
}

#define LS_CHECK_MPI(call)                                                                        \
  do {                                                                                            \
    const int ls_mpi_rc_ = (call);                                                                \
    if (ls_mpi_rc_ != MPI_SUCCESS) ::lockstep::detail::throw_mpi(ls_mpi_rc_, #call, __FILE__, __LINE__); \
  } while (0)
