// The MPI session of a process: initialised once when the process was started by mpirun or srun, finalised at
// exit (RAII). Contract: launched_by_mpi() reads the launcher's environment (Open MPI's OMPI_COMM_WORLD_*,
// PMIx's PMIX_RANK, PMI's PMI_RANK) without touching MPI. MpiSession asks for MPI_THREAD_MULTIPLE (gradient
// hooks may run on autograd's device threads) and accepts MPI_THREAD_SERIALIZED. No torch.
#pragma once

namespace lockstep {

bool launched_by_mpi();

class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  // True between MPI_Init_thread and MPI_Finalize of this process (for main()'s abort path).
  static bool active();
  // Ends every rank of the job with `code` (MPI_Abort); used by main() when one rank fails alone.
  static void abort_job(int code);
  // Rank and size in MPI_COMM_WORLD (0 and 1 when MPI is not active).
  static int world_rank();
  static int world_size();
};

}  // namespace lockstep
