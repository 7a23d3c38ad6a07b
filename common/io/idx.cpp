#include "common/io/idx.h"

#include <zlib.h>

#include <algorithm>

#include "common/util/error.h"
#include "common/util/fs.h"
#include "common/util/memory.h"
#include "common/util/strings.h"

namespace lockstep {

std::string gunzip_if_compressed(const std::string& raw, const std::string& origin) {
  if (raw.size() < 2 || static_cast<unsigned char>(raw[0]) != 0x1f || static_cast<unsigned char>(raw[1]) != 0x8b) return raw;
  const uint64_t limit = memory_available_bytes();  // a "gzip bomb" is refused before it fills the memory
  LS_CHECK_INPUT(raw.size() < (uint64_t{1} << 32), origin << ": a gzip stream of more than 4 GB; decompress it first");
  std::string out;
  z_stream zs{};
  LS_CHECK(inflateInit2(&zs, 15 + 32) == Z_OK, "inflateInit2 for " << origin);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
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
      throw BadInput(origin + ": damaged gzip data (" + why + ")");
    }
    out.append(buf, sizeof buf - zs.avail_out);
    if (out.size() > limit) {
      inflateEnd(&zs);
      throw BadInput(origin + ": decompresses to more than the " + bytes_text(limit) + " of memory available");
    }
  }
  inflateEnd(&zs);
  return out;
}

std::string read_maybe_gzip(const std::string& path) { return gunzip_if_compressed(read_file(path), clip(path, 300)); }

IdxArray parse_idx(const std::string& b, const std::string& origin) {
  LS_CHECK_INPUT(b.size() >= 4 && b[0] == 0 && b[1] == 0, origin << ": not an IDX file (bad magic number)");
  const unsigned char type = static_cast<unsigned char>(b[2]);
  LS_CHECK_INPUT(type == 0x08, origin << ": unsupported IDX data type 0x" << std::hex << static_cast<int>(type)
                                      << " (only 0x08, unsigned byte, is supported)");
  const int dims = static_cast<unsigned char>(b[3]);
  LS_CHECK_INPUT(dims >= 1 && dims <= 8, origin << ": IDX file with " << dims << " dimensions");
  LS_CHECK_INPUT(b.size() >= 4 + 4 * static_cast<size_t>(dims), origin << ": truncated IDX header");
  IdxArray out;
  const size_t body = 4 + 4 * static_cast<size_t>(dims);
  const uint64_t have = b.size() - body;
  for (int d = 0; d < dims; ++d) {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) v = (v << 8) | static_cast<unsigned char>(b[4 + 4 * d + k]);
    out.shape.push_back(v);
  }
  const bool empty = std::find(out.shape.begin(), out.shape.end(), 0) != out.shape.end();
  uint64_t count = empty ? 0 : 1;
  bool fits = true;  // the product stays below 2^62 (no overflow; far beyond any file)
  for (int64_t v : out.shape) fits = fits && (empty || checked_mul(count, static_cast<uint64_t>(v), uint64_t{1} << 62, &count));
  LS_CHECK_INPUT(fits && count == have, origin << ": the header's shape " << shape_text(out.shape) << " needs "
                                               << (fits ? std::to_string(count) : std::string("more than 2^62"))
                                               << " bytes of data, the file has " << have << (!fits || have < count ? " (truncated)" : " (trailing bytes)"));
  out.data.assign(b.begin() + static_cast<std::ptrdiff_t>(body), b.end());
  return out;
}

IdxArray read_idx(const std::string& path) { return parse_idx(read_maybe_gzip(path), path); }

}  // namespace lockstep
