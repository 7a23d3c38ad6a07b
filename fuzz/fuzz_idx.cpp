// IDX files, gzip-compressed or not.
#include <string>

#include "common/io/idx.h"
#include "fuzz/fuzz_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  lockstep_fuzz_guard([&] {
    const lockstep::IdxArray a = lockstep::parse_idx(lockstep::gunzip_if_compressed(bytes, "fuzz.idx"), "fuzz.idx");
    size_t n = 1;
    for (int64_t d : a.shape) n *= static_cast<size_t>(d);
    if (n != a.data.size()) std::abort();
  });
  return 0;
}
