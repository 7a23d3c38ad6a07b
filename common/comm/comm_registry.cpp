#include "common/comm/comm_registry.h"

#include <algorithm>

#include "common/comm/comm_mpi.h"
#include "common/comm/comm_shm.h"
#include "common/comm/shm_allreduce.h"
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

std::string resolve_backend(const std::string& name) {
  if (name == "auto") return launched_by_mpi() ? "mpi" : "self";
  return name;
}

std::unique_ptr<Comm> make_comm(const std::string& requested, bool shm_allreduce) {
  std::string name = resolve_backend(requested);
  const auto built = [](const std::string& n) {
    const std::vector<std::string> b = built_backends();
    return std::find(b.begin(), b.end(), n) != b.end();
  };
  LS_CHECK_INPUT(built(name), "engine.backend '" << name << "' was not built into this binary; built backends: " << join(built_backends())
                                                 << (name == "nccl" ? " (CUDA and NCCL were not found at build time)" : ""));
  if (!MpiSession::active()) {
    LS_CHECK_INPUT(name == "self", "engine.backend '" << name << "': this process was not started by mpirun or srun");
    return make_self_comm();
  }
  // MPI ranks: every rank takes rank 0's choice, so that all of them build the same communicator through the same
  // collectives (a rank whose own config asked for another is then named by the config check of the first frame)
  std::unique_ptr<MpiBackend> mpi = make_mpi_comm();
  std::string choice = name + (shm_allreduce ? " shm" : " noshm");
  mpi->broadcast(&choice, 0);
  name = choice.substr(0, choice.find(' '));
  shm_allreduce = choice.substr(choice.find(' ') + 1) == "shm";
  if (name == "self") {
    LS_CHECK_INPUT(mpi->size() == 1, "started as " << mpi->size() << " MPI ranks, but engine.backend is 'self' (use auto or mpi)");
    return make_self_comm();
  }
#ifdef LOCKSTEP_HAVE_NCCL
  if (name == "nccl") return make_nccl_comm();
#endif
  if (name == "mpi" && !shm_allreduce) {
    mpi->set_allreduce_note("engine.shm_allreduce is false");
    return mpi;
  }
  std::string why_not;  // the same on every rank: ShmAllreduce::create decides collectively
  const bool one_machine = mpi->size() > 1 && mpi->local_size() == mpi->size();
  if (one_machine) {
    std::unique_ptr<ShmAllreduce> shm = ShmAllreduce::create(*mpi, &why_not);
    if (shm) return make_shm_comm(std::move(mpi), std::move(shm));
    why_not = "shared memory failed: " + why_not;
    mpi->set_allreduce_note(why_not);
  } else {
    why_not = mpi->size() == 1 ? "one rank" : "ranks on several machines";
  }
  LS_CHECK_INPUT(name != "shm", "engine.backend 'shm': the gradients cannot be summed in shared memory: " << why_not);
  return mpi;
}

}  // namespace lockstep
