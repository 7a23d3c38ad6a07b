// NumPy .npy files (format version 1.0), float32, C order.
//
// Contract: write_npy() writes atomically (fs.h). read_npy() accepts little-endian float32 ('<f4') or
// float64 ('<f8', converted) arrays in C order and throws BadInput naming the file and what is wrong
// (bad magic, unsupported dtype, Fortran order, truncated data). No torch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lockstep {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

// The complete file contents of an array of `shape` (header + data).
std::string npy_bytes(const float* data, const std::vector<int64_t>& shape);
void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape);
NpyArray read_npy(const std::string& path);
NpyArray parse_npy(const std::string& bytes, const std::string& origin);

}  // namespace lockstep
