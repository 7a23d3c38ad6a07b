#include "common/util/blas_info.h"

#include "common/util/blas_core.h"

#include <dlfcn.h>
#include <link.h>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace lockstep {
namespace {

int collect(struct dl_phdr_info* info, size_t, void* data) {
  const char* name = info->dlpi_name;
  if (!name || !*name) return 0;
  const char* base = std::strrchr(name, '/');
  base = base ? base + 1 : name;
  auto* out = static_cast<std::string*>(data);
  const bool blas = std::strncmp(base, "libblas.so", 10) == 0 || std::strncmp(base, "libopenblas", 11) == 0 ||
                    std::strncmp(base, "libblis", 7) == 0 || std::strncmp(base, "libmkl_rt", 9) == 0;
  if (blas && out->empty()) {
    char resolved[PATH_MAX];
    *out = realpath(name, resolved) ? resolved : name;
  }
  return 0;
}

}  // namespace

BlasInfo loaded_blas() {
  BlasInfo info;
  dl_iterate_phdr(collect, &info.library);
  using ConfigFn = char* (*)();
  if (auto fn = reinterpret_cast<ConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    info.openblas = true;
    info.config = fn();
  }
  info.reference = !info.openblas && info.library.find("/blas/") != std::string::npos;
  info.core_note = blas_core_note();
  return info;
}

bool set_blas_threads(int n) {
  using SetFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(n);
    return true;
  }
  return false;
}

}  // namespace lockstep
