#include "common/io/idx.h"

#include <zlib.h>

#include "common/util/error.h"
#include "common/util/fs.h"

namespace lockstep {

std::string read_maybe_gzip(const std::string& path) {
  std::string raw = read_file(path);
  if (raw.size() < 2 || static_cast<unsigned char>(raw[0]) != 0x1f || static_cast<unsigned char>(raw[1]) != 0x8b) return raw;
  std::string out;
  z_stream zs{};
  LS_CHECK(inflateInit2(&zs, 15 + 32) == Z_OK, "inflateInit2 for " << path);
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = static_cast<uInt>(raw.size());
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      const std::string why = zs.msg ? zs.msg : (rc == Z_BUF_ERROR ? "unexpected end of the compressed data" : "inflate failed");
      inflateEnd(&zs);
      throw BadInput(path + ": damaged gzip data (" + why + ")");
    }
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  return out;
}

IdxArray parse_idx(const std::string& b, const std::string& origin) {
  LS_CHECK_INPUT(b.size() >= 4 && b[0] == 0 && b[1] == 0, origin << ": not an IDX file (bad magic number)");
  const unsigned char type = static_cast<unsigned char>(b[2]);
  LS_CHECK_INPUT(type == 0x08, origin << ": unsupported IDX data type 0x" << std::hex << static_cast<int>(type)
                                      << " (only 0x08, unsigned byte, is supported)");
  const int dims = static_cast<unsigned char>(b[3]);
  LS_CHECK_INPUT(dims >= 1 && dims <= 8, origin << ": IDX file with " << dims << " dimensions");
  LS_CHECK_INPUT(b.size() >= 4 + 4 * static_cast<size_t>(dims), origin << ": truncated IDX header");
  IdxArray out;
  uint64_t count = 1;
  for (int d = 0; d < dims; ++d) {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | static_cast<unsigned char>(b[4 + 4 * d + k]);
    out.shape.push_back(v);
    count *= v;
  }
  const size_t body = 4 + 4 * static_cast<size_t>(dims);
  LS_CHECK_INPUT(b.size() - body == count, origin << ": the header says " << count << " bytes of data, the file has "
                                                  << b.size() - body << (b.size() - body < count ? " (truncated)" : " (trailing bytes)"));
  out.data.assign(b.begin() + static_cast<std::ptrdiff_t>(body), b.end());
  return out;
}

IdxArray read_idx(const std::string& path) { return parse_idx(read_maybe_gzip(path), path); }

}  // namespace lockstep
