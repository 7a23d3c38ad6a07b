// NumPy .npy files (format version 1.0), float32, C order.
//
// Contract: write_npy() writes atomically (fs.h). read_npy() accepts C-order arrays of float32 ('<f4'),
// float64 ('<f8'), uint8 ('|u1'), int32 ('<i4') or int64 ('<i8'), converted to float32 (dtype says which it
// was), and throws BadInput naming the file and what is wrong (bad magic, unsupported dtype, Fortran order,
// truncated data). No torch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lockstep {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
  std::string dtype;  // as in the file: "<f4", "<f8", "|u1", "<i4", "<i8"
};

// The header (magic, version, dict, padding to 64 bytes) of a float32 array of `shape`.
std::string npy_header(const std::vector<int64_t>& shape);
// The complete file contents of an array of `shape` (header + data).
std::string npy_bytes(const float* data, const std::vector<int64_t>& shape);
void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape);
NpyArray read_npy(const std::string& path);
NpyArray parse_npy(const std::string& bytes, const std::string& origin);
// The same checks without converting: the array's count elements of dtype lie at bytes[offset, ...) (for uint8
// images that need no float copy).
struct NpyView {
  std::vector<int64_t> shape;
  std::string dtype;
  size_t offset = 0;
  uint64_t count = 0;
};
NpyView parse_npy_view(const std::string& bytes, const std::string& origin);

}  // namespace lockstep
