// Which BLAS library this process actually loaded, and its thread count.
//
// Debian's LibTorch multiplies matrices through whatever libblas.so.3 points to, which may be the slow reference
// BLAS. Contract: loaded_blas() inspects the loaded shared objects (dl_iterate_phdr) and asks OpenBLAS for its
// configuration when it is the one loaded; `reference` says that the reference BLAS is loaded. No torch.
#pragma once

#include <string>

namespace lockstep {

struct BlasInfo {
  std::string library;  // resolved path of the loaded BLAS shared object, or "" if none
  std::string config;   // openblas_get_config(), or "" for other BLAS libraries
  bool openblas = false;
  bool reference = false;  // the slow reference implementation (netlib)
  std::string core_note;   // blas_core_note(): OpenBLAS's kernels chosen by Lockstep (blas_core.h), or ""
};

BlasInfo loaded_blas();
// Sets OpenBLAS's thread count when OpenBLAS is loaded; returns whether it was.
bool set_blas_threads(int n);

}  // namespace lockstep
