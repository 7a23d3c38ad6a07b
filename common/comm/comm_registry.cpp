#include "common/comm/comm_registry.h"

#include "common/comm/comm_mpi.h"
#include "common/comm/mpi_session.h"
#include "common/util/error.h"
#include "common/util/strings.h"
#ifdef LOCKSTEP_HAVE_NCCL
#include "common/comm/comm_nccl.h"
#endif

namespace lockstep {

std::vector<std::string> built_backends() {
  std::vector<std::string> out = {"auto", "self", "mpi"};
#ifdef LOCKSTEP_HAVE_NCCL
  out.push_back("nccl");
#endif
  return out;
}

const std::vector<std::string>& known_backends() {
  static const std::vector<std::string> names = {"auto", "self", "mpi", "nccl"};
  return names;
}

std::string resolve_backend(const std::string& name) {
  if (name == "auto") return launched_by_mpi() ? "mpi" : "self";
  return name;
}

std::unique_ptr<Comm> make_comm(const std::string& requested, bool shm_allreduce) {
  const std::string name = resolve_backend(requested);
  if (name == "self") return make_self_comm();
  if (name == "mpi") {
    LS_CHECK_INPUT(MpiSession::active(), "engine.backend 'mpi': this process was not started by mpirun or srun");
    return make_mpi_comm(shm_allreduce);
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
