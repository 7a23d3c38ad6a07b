// A fast 64-bit hash of float buffers, for the replica-consistency check (desync detection).
//
// Contract: a pure function of the bytes and the length; any single-bit change changes the result (with
// overwhelming probability). Not cryptographic. No torch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace lockstep {

inline uint64_t hash_bytes(const void* data, size_t n) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
  auto mix = [](uint64_t x) {
    x ^= x >> 33;
    x *= 0xFF51AFD7ED558CCDull;
    x ^= x >> 33;
    x *= 0xC4CEB9FE1A85EC53ull;
    return x ^ (x >> 33);
  };
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    h = (h ^ mix(w)) * 0x100000001B3ull + 0x9E3779B97F4A7C15ull;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, p + i, n - i);
  return mix(h ^ mix(tail ^ 0xA5A5A5A5ull));
}

}  // namespace lockstep
