// .npy files: the header scanner, the shape arithmetic and the conversion of the data.
#include <string>

#include "common/io/npy.h"
#include "fuzz/fuzz_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  lockstep_fuzz_guard([&] {
    const lockstep::NpyArray a = lockstep::parse_npy(bytes, "fuzz.npy");
    size_t n = 1;
    for (int64_t d : a.shape) n *= static_cast<size_t>(d);
    if (n != a.data.size()) std::abort();
  });
  return 0;
}
