// safetensors files (Hugging Face's format for named tensors), written and parsed in plain C++ (no torch).
//
// Layout: an 8-byte little-endian header length N, N bytes of JSON header, then the data section. The header maps
// every tensor's name to {"dtype", "shape", "data_offsets": [begin, end)} (offsets into the data section) and may
// hold "__metadata__", a map of strings to strings. The writer pads the header with spaces so that the data starts at
// a multiple of 8 bytes, and adds the metadata key "lockstep_crc32": the CRC-32 of the entries, the other metadata and
// the data (safetensors has no checksum of its own), so that any damaged byte of a file Lockstep wrote is found.
//
// Contract: parse_safetensors() takes the whole file and either returns a view whose every entry has been checked
// (a known dtype, non-negative dimensions whose product does not overflow, a byte size equal to the shape's, the
// entries tiling the data section exactly in offset order, names unique, metadata values strings, and the CRC right
// where the file carries one) or throws BadInput naming `origin` and what is wrong. The header is at most 100 MB (the
// format's own limit) and is checked against the file's size before it is read. encode_safetensors() writes float32
// tensors in the order given.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace lockstep {

struct SafetensorsEntry {
  std::string name;
  std::string dtype;           // "F32", "F64", "F16", "BF16", "I64", "I32", "I16", "I8", "U8", "BOOL"
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // into the data section
};

struct SafetensorsView {
  std::vector<SafetensorsEntry> entries;  // in offset order
  std::map<std::string, std::string> metadata;
  bool crc_checked = false;  // the file carried lockstep_crc32, and it matched
  const char* data = nullptr;  // the data section, inside the parsed bytes (which must outlive the view)
  uint64_t data_size = 0;
};

struct FloatTensorBytes {
  std::string name;
  std::vector<int64_t> shape;
  const float* data;  // the shape's element count of float32 values
};

constexpr const char* kSafetensorsCrcKey = "lockstep_crc32";

// Bytes per element of a safetensors dtype; 0 for a name the format does not have.
size_t safetensors_dtype_size(const std::string& dtype);
SafetensorsView parse_safetensors(const std::string& bytes, const std::string& origin);
std::string encode_safetensors(const std::vector<FloatTensorBytes>& tensors, const std::vector<std::pair<std::string, std::string>>& metadata);

}  // namespace lockstep
