// The backend names a config accepts (comm_registry.h), apart from the registry so that the config's validation
// needs no MPI.
#include "common/comm/comm_registry.h"

namespace lockstep {

const std::vector<std::string>& known_backends() {
  static const std::vector<std::string> names = {"auto", "self", "mpi", "shm", "nccl"};
  return names;
}

}  // namespace lockstep
