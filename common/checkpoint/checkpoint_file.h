// The checkpoint file format, in plain C++ (no torch): encoding, and the parser of untrusted bytes.
//
// Layout (format 2, "LSCKPT02"): the 8-byte magic, the manifest's length as a little-endian uint64, the CRC-32 of
// the manifest as a little-endian uint32, the serialized Manifest (common/proto/checkpoint.proto), then the payloads
// back to back in manifest order, each raw little-endian float32 with its own CRC-32 in the manifest. The file is
// sealed end to end: the manifest's CRC covers it (and with it the run's identity, config, tick and every payload's
// place), the payloads tile the rest of the file exactly, and each payload's CRC covers its bytes. Format 1
// ("LSCKPT01", Lockstep before 2026-12-03) has no manifest CRC; it is read, and said to be unsealed.
//
// Contract: parse_checkpoint() takes the whole file and either returns a view whose every offset, size and shape has
// been checked (sizes against the file, shapes free of negative or overflowing dimensions, each payload's size equal
// to its shape's, names unique, CRCs right), or throws BadInput naming `origin` and what is wrong, never allocating
// more than the manifest itself. peek_checkpoint() reads only the header and the manifest of a file (retention, the
// run's identity). encode_checkpoint() writes format 2.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/proto/checkpoint.pb.h"

namespace lockstep {

// A payload's bytes, to be written.
struct PayloadBytes {
  std::string name;
  std::vector<int64_t> shape;
  const void* data;
  uint64_t size;  // in bytes: 4 x the shape's element count
};

struct ParsedCheckpoint {
  int format = 2;      // 1: unsealed (no manifest CRC)
  Manifest manifest;   // payload offsets relative to `body`
  const char* body = nullptr;  // into the parsed bytes, which must outlive this view
};

// Fills in the payloads' offsets, sizes and CRCs of `manifest` (whose other fields the caller set) and returns the file.
std::string encode_checkpoint(Manifest manifest, const std::vector<PayloadBytes>& payloads);
ParsedCheckpoint parse_checkpoint(const std::string& bytes, const std::string& origin);
// The manifest of the file at `path` (its payloads not read or checked); BadInput when it is not a checkpoint.
Manifest peek_checkpoint(const std::string& path);
uint32_t crc32_of(const void* data, size_t n);

}  // namespace lockstep
