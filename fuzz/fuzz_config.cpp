// Config text: parsed, validated and printed again.
#include <string>

#include "common/config/config.h"
#include "fuzz/fuzz_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  lockstep_fuzz_guard([&] {
    const lockstep::Config c = lockstep::parse_config_text(text, "fuzz.textproto");
    if (lockstep::effective_config_text(c).empty()) std::abort();
  });
  return 0;
}
