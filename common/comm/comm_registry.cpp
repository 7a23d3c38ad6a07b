#include "common/comm/comm_registry.h"

#include "common/comm/comm_mpi.h"
#include "common/comm/comm_shm.h"
#include "common/comm/mpi_session.h"
#include "common/util/error.h"
#include "common/util/strings.h"
#ifdef LOCKSTEP_HAVE_NCCL
#include "common/comm/comm_nccl.h"
#endif

namespace lockstep {

std::vector<std::string> built_backends() {
  std::vector<std::string> out = {"auto", "self", "mpi", "shm"};
#ifdef LOCKSTEP_HAVE_NCCL
  out.push_back("nccl");
#endif
  return out;
}

const std::vector<std::string>& known_backends() {
  static const std::vector<std::string> names = {"auto", "self", "mpi", "shm", "nccl"};
  return names;
}

std::string resolve_backend(const std::string& name) {
  if (name == "auto") return launched_by_mpi() ? "mpi" : "self";
  return name;
}

std::unique_ptr<Comm> make_comm(const std::string& requested, bool shm_allreduce) {
  const std::string name = resolve_backend(requested);
  if (name == "self") return make_self_comm();
  if (name == "mpi" || name == "shm") {
    LS_CHECK_INPUT(MpiSession::active(), "engine.backend '" << name << "': this process was not started by mpirun or srun");
    if (name == "mpi" && !shm_allreduce) return make_mpi_comm("engine.shm_allreduce is false");
    std::unique_ptr<Comm> mpi = make_mpi_comm();
    std::string why_not;  // the same on every rank: make_shm_comm decides collectively
    std::unique_ptr<Comm> shm = make_shm_comm(mpi, &why_not);
    if (shm) return shm;
    LS_CHECK_INPUT(name != "shm", "engine.backend 'shm': the gradients cannot be summed in shared memory: " << why_not);
    if (mpi->size() == 1 || mpi->local_size() < mpi->size()) return mpi;  // its banner says why already
    return make_mpi_comm(why_not);
  }
#ifdef LOCKSTEP_HAVE_NCCL
  if (name == "nccl") {
    LS_CHECK_INPUT(MpiSession::active(), "engine.backend 'nccl': this process was not started by mpirun or srun "
                                         "(NCCL is bootstrapped over MPI)");
    return make_nccl_comm();
  }
#endif
  throw BadInput("engine.backend '" + name + "' was not built into this binary; built backends: " + join(built_backends()) +
                 (name == "nccl" ? " (CUDA and NCCL were not found at build time)" : ""));
}

}  // namespace lockstep
