// `lockstep --version`: versions of Lockstep and of the libraries it actually runs with.
#include <google/protobuf/stubs/common.h>
#include <mpi.h>
#include <torch/version.h>

#include <cstdio>

#include "common/comm/comm_registry.h"
#include "common/kernels/fast_paths.h"
#include "common/model/sgemm.h"
#include "common/util/blas_info.h"
#include "common/util/heap_pages.h"
#include "common/util/strings.h"
#include "launch/commands.h"

namespace lockstep {

int cmd_version() {
  char mpi[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(mpi, &len);  // one of the few MPI calls allowed before MPI_Init
  std::string mpi_line(mpi, static_cast<size_t>(len));
  if (auto nl = mpi_line.find_first_of("\r\n"); nl != std::string::npos) mpi_line.resize(nl);
  while (!mpi_line.empty() && (mpi_line.back() == ',' || mpi_line.back() == ' ')) mpi_line.pop_back();
  const BlasInfo blas = loaded_blas();
  std::printf("lockstep %s\n", LOCKSTEP_VERSION);
  std::printf("LibTorch %s\n", TORCH_VERSION);
  std::printf("MPI      %s\n", mpi_line.c_str());
  std::printf("protobuf %s\n", google::protobuf::internal::VersionString(GOOGLE_PROTOBUF_VERSION).c_str());
  std::printf("BLAS     %s%s\n", blas.library.empty() ? "none loaded" : blas.library.c_str(),
              blas.config.empty() ? (blas.reference ? " (reference implementation: slow)" : "") : (" (" + blas.config + ")").c_str());
  if (!blas.core_note.empty()) std::printf("         %s\n", blas.core_note.c_str());
  std::printf("heap     %s\n", heap_note().c_str());
  std::printf("MLP step %s\n", sgemm_library());
  std::printf("kernels  %s (CPU fast paths; engine.cpu_fast_paths switches them)\n", kernel_target().c_str());
  std::printf("backends %s\n", join(built_backends()).c_str());
  return 0;
}

}  // namespace lockstep
