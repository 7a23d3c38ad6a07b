// Checkpoint files: the header, the sealed manifest, every payload's place, shape and CRC.
#include <string>

#include "common/checkpoint/checkpoint_file.h"
#include "fuzz/fuzz_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  lockstep_fuzz_guard([&] {
    const lockstep::ParsedCheckpoint c = lockstep::parse_checkpoint(bytes, "fuzz.ckpt");
    const uint64_t body = bytes.size() - static_cast<uint64_t>(c.body - bytes.data());
    for (const lockstep::Payload& p : c.manifest.payloads()) {
      if (p.offset() + p.size() > body) std::abort();
    }
  });
  return 0;
}
