// IDX files (the MNIST / Fashion-MNIST format), plain or gzip-compressed.
//
// Layout: two zero bytes, a type byte (0x08 unsigned byte is the one these data sets use and the one accepted),
// the number of dimensions, the big-endian uint32 sizes, then the data. Contract: read_idx() throws BadInput
// naming the file and what is wrong: a bad magic number, an unsupported type, a truncated or oversized body, a
// damaged gzip stream. No torch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lockstep {

struct IdxArray {
  std::vector<int64_t> shape;
  std::vector<uint8_t> data;
};

IdxArray read_idx(const std::string& path);
IdxArray parse_idx(const std::string& bytes, const std::string& origin);
// The bytes of a file, gunzipped when it starts with the gzip magic number; no more than the memory available.
std::string read_maybe_gzip(const std::string& path);
// The same for bytes in memory (`origin` names them in messages).
std::string gunzip_if_compressed(const std::string& raw, const std::string& origin);

}  // namespace lockstep
