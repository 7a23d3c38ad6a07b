#include "common/io/npy.h"

#include <algorithm>
#include <cstring>
#include <regex>

#include "common/util/error.h"
#include "common/util/fs.h"

namespace lockstep {

std::string npy_header(const std::vector<int64_t>& shape) {
  std::string dims;
  for (int64_t s : shape) dims += std::to_string(s) + ",";
  if (shape.size() > 1) dims.pop_back();  // "(3,)" for one dimension, "(3,2)" otherwise
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  const size_t unpadded = 10 + header.size() + 1;  // magic(6) + version(2) + len(2) + header + '\n'
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY\x01\x00", 8);
  const uint16_t len = static_cast<uint16_t>(header.size());
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>(len >> 8);
  return out + header;
}

std::string npy_bytes(const float* data, const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t s : shape) count *= s;
  std::string out = npy_header(shape);
  out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(count) * sizeof(float));
  return out;
}

void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  write_file_atomic(path, npy_bytes(data, shape));
}

NpyArray parse_npy(const std::string& b, const std::string& origin) {
  LS_CHECK_INPUT(b.size() >= 10 && b.compare(0, 6, "\x93NUMPY") == 0, origin << ": not a .npy file (bad magic)");
  const int major = static_cast<unsigned char>(b[6]);
  size_t hlen, hstart;
  if (major == 1) {
    hlen = static_cast<unsigned char>(b[8]) | (static_cast<unsigned char>(b[9]) << 8);
    hstart = 10;
  } else {
    LS_CHECK_INPUT(major == 2 || major == 3, origin << ": unsupported .npy version " << major);
    LS_CHECK_INPUT(b.size() >= 12, origin << ": truncated header");
    hlen = 0;
    for (int i = 3; i >= 0; --i) hlen = (hlen << 8) | static_cast<unsigned char>(b[8 + i]);
    hstart = 12;
  }
  LS_CHECK_INPUT(b.size() >= hstart + hlen, origin << ": truncated header");
  const std::string header = b.substr(hstart, hlen);
  std::smatch m;
  LS_CHECK_INPUT(std::regex_search(header, m, std::regex(R"('descr':\s*'([^']*)')")), origin << ": header has no 'descr'");
  const std::string descr = m[1];
  const std::vector<std::string> types = {"<f4", "<f8", "|u1", "<u1", "<i4", "<i8"};
  LS_CHECK_INPUT(std::find(types.begin(), types.end(), descr) != types.end(),
                 origin << ": unsupported dtype '" << descr << "' (expected float32 '<f4', float64 '<f8', uint8 '|u1', int32 '<i4' or int64 '<i8')");
  LS_CHECK_INPUT(std::regex_search(header, m, std::regex(R"('fortran_order':\s*(True|False))")), origin << ": header has no 'fortran_order'");
  LS_CHECK_INPUT(m[1] == "False", origin << ": Fortran-ordered arrays are not supported; save with np.ascontiguousarray");
  LS_CHECK_INPUT(std::regex_search(header, m, std::regex(R"('shape':\s*\(([^)]*)\))")), origin << ": header has no 'shape'");
  NpyArray out;
  const std::string dims = m[1];
  static const std::regex number(R"(\d+)");
  std::sregex_iterator it(dims.begin(), dims.end(), number), end;
  int64_t count = 1;
  for (; it != end; ++it) {
    out.shape.push_back(std::stoll(it->str()));
    count *= out.shape.back();
  }
  const size_t elem = descr == "<f8" || descr == "<i8" ? 8 : descr == "<f4" || descr == "<i4" ? 4 : 1;
  const size_t need = hstart + hlen + static_cast<size_t>(count) * elem;
  LS_CHECK_INPUT(b.size() >= need, origin << ": truncated data: " << b.size() << " bytes, the header's shape needs " << need);
  out.dtype = descr == "<u1" ? "|u1" : descr;
  out.data.resize(static_cast<size_t>(count));
  const char* src = b.data() + hstart + hlen;
  const char kind = descr[1];  // 'f', 'i' or 'u'
  for (size_t i = 0; i < out.data.size(); ++i) {
    const char* p = src + elem * i;
    if (kind == 'f' && elem == 4) {
      std::memcpy(&out.data[i], p, 4);
    } else if (kind == 'f') {
      double v;
      std::memcpy(&v, p, 8);
      out.data[i] = static_cast<float>(v);
    } else if (kind == 'i' && elem == 4) {
      int32_t v;
      std::memcpy(&v, p, 4);
      out.data[i] = static_cast<float>(v);
    } else if (kind == 'i') {
      int64_t v;
      std::memcpy(&v, p, 8);
      out.data[i] = static_cast<float>(v);
    } else {
      out.data[i] = static_cast<float>(static_cast<unsigned char>(*p));
    }
  }
  return out;
}

NpyArray read_npy(const std::string& path) { return parse_npy(read_file(path), path); }

}  // namespace lockstep
