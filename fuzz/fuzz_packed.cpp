// Packed data sets: the fixed header, the PackedHeader and its sizes against the file's size.
#include <string>

#include "common/data/packed_file.h"
#include "fuzz/fuzz_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  lockstep_fuzz_guard([&] {
    const lockstep::PackedHeader h = lockstep::parse_packed_header(reinterpret_cast<const char*>(data), size, size, "fuzz.pack");
    const uint64_t item = uint64_t{h.channels()} * h.height() * h.width();
    if (h.data_offset() + h.count() * item != size) std::abort();
    if (static_cast<uint64_t>(h.chunk_crc32_size()) * h.chunk_items() < h.count()) std::abort();
  });
  return 0;
}
