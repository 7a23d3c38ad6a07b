// safetensors files (model.init_from): the header length, the JSON header, every tensor's dtype, shape and place, the
// tiling of the data, and Lockstep's CRC.
#include <string>

#include "common/io/safetensors.h"
#include "fuzz/fuzz_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  lockstep_fuzz_guard([&] {
    const lockstep::SafetensorsView v = lockstep::parse_safetensors(bytes, "fuzz.safetensors");
    const uint64_t available = bytes.size() - static_cast<uint64_t>(v.data - bytes.data());
    for (const lockstep::SafetensorsEntry& e : v.entries) {
      if (e.begin > e.end || e.end > available) std::abort();
    }
  });
  return 0;
}
