#include "common/comm/mpi_session.h"

#include <cstdlib>

#include "common/comm/mpi_check.h"
#include "common/util/error.h"

namespace lockstep {

namespace detail {
void throw_mpi(int code, const char* call, const char* file, int line) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, text, &len);
  throw CommError(std::string(call) + " failed: " + std::string(text, static_cast<size_t>(len)) + " (" + file + ":" +
                  std::to_string(line) + ")");
}
}  // namespace detail

bool launched_by_mpi() {
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(var)) return true;
  }
  return false;
}

MpiSession::MpiSession() {
  int provided = 0;
  LS_CHECK_MPI(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided));
  // Errors come back as return codes (checked) rather than aborting inside MPI.
  LS_CHECK_MPI(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  LS_CHECK(provided >= MPI_THREAD_SERIALIZED, "MPI provides thread level " << provided << ", Lockstep needs MPI_THREAD_SERIALIZED");
}

MpiSession::~MpiSession() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

bool MpiSession::active() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

void MpiSession::abort_job(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

int MpiSession::world_rank() {
  int r = 0;
  if (active()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int MpiSession::world_size() {
  int n = 1;
  if (active()) MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

}  // namespace lockstep
