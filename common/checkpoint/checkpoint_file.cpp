#include "common/checkpoint/checkpoint_file.h"

#include <zlib.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <fstream>
#include <set>

#include "common/util/error.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

constexpr char kMagic2[] = "LSCKPT02";
constexpr char kMagic1[] = "LSCKPT01";
constexpr size_t kMagicLen = 8;
constexpr uint64_t kMaxManifest = uint64_t{64} << 20;  // a config, names and shapes: far below this
constexpr uint64_t kMaxNumel = uint64_t{1} << 40;      // per tensor
constexpr int kMaxDims = 16;

uint64_t read_le(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

void append_le(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) *out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// The number of elements of a stored shape; BadInput for a negative, overflowing or absurd one.
uint64_t numel_of(const google::protobuf::RepeatedField<int64_t>& shape, const std::string& origin, const std::string& what) {
  LS_CHECK_INPUT(shape.size() <= kMaxDims, origin << ": " << what << " has " << shape.size() << " dimensions (damaged manifest)");
  uint64_t n = 1;
  for (int64_t d : shape) {
    LS_CHECK_INPUT(d >= 0, origin << ": " << what << " has a negative dimension " << d << " (damaged manifest)");
    LS_CHECK_INPUT(checked_mul(n, static_cast<uint64_t>(d), kMaxNumel, &n),
                   origin << ": " << what << " has a shape of more than 2^40 elements (damaged manifest)");
  }
  return n;
}

struct Header {
  int format;
  uint64_t manifest_len;
  uint32_t manifest_crc;
  size_t start;  // of the manifest
};

// The fixed header of `head` (at least its first 20 bytes, or all the file has), checked against the file size.
Header parse_header(const char* head, size_t head_size, uint64_t file_size, const std::string& origin) {
  LS_CHECK_INPUT(head_size >= kMagicLen + 8 && (std::memcmp(head, kMagic2, kMagicLen) == 0 || std::memcmp(head, kMagic1, kMagicLen) == 0),
                 origin << ": not a Lockstep checkpoint (bad magic)");
  Header h;
  h.format = std::memcmp(head, kMagic2, kMagicLen) == 0 ? 2 : 1;
  h.manifest_len = read_le(head + kMagicLen, 8);
  h.start = kMagicLen + 8;
  if (h.format == 2) {
    LS_CHECK_INPUT(head_size >= h.start + 4, origin << ": truncated checkpoint (the header)");
    h.manifest_crc = static_cast<uint32_t>(read_le(head + h.start, 4));
    h.start += 4;
  }
  LS_CHECK_INPUT(h.manifest_len <= kMaxManifest, origin << ": damaged checkpoint: the manifest claims " << h.manifest_len << " bytes");
  LS_CHECK_INPUT(h.manifest_len <= file_size - std::min<uint64_t>(file_size, h.start),
                 origin << ": truncated checkpoint: the manifest needs " << h.manifest_len << " bytes, the file has "
                        << file_size - std::min<uint64_t>(file_size, h.start));
  return h;
}

Manifest parse_manifest(const char* data, const Header& h, const std::string& origin) {
  if (h.format == 2) {
    LS_CHECK_INPUT(crc32_of(data, h.manifest_len) == h.manifest_crc,
                   origin << ": damaged checkpoint manifest (CRC-32 mismatch): its config, tick, run or payload list was changed");
  }
  Manifest m;
  LS_CHECK_INPUT(m.ParseFromArray(data, static_cast<int>(h.manifest_len)), origin << ": damaged checkpoint manifest");
  return m;
}

}  // namespace

uint32_t crc32_of(const void* data, size_t n) {
  const char* p = static_cast<const char*>(data);
  uLong crc = crc32(0L, Z_NULL, 0);
  while (n > 0) {  // zlib takes uInt lengths
    const uInt chunk = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(p), chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

std::string encode_checkpoint(Manifest m, const std::vector<PayloadBytes>& payloads) {
  m.clear_payloads();
  uint64_t offset = 0;
  for (const PayloadBytes& p : payloads) {
    Payload* e = m.add_payloads();
    e->set_name(p.name);
    for (int64_t d : p.shape) e->add_shape(d);
    e->set_offset(offset);
    e->set_size(p.size);
    e->set_crc32(crc32_of(p.data, p.size));
    offset += p.size;
  }
  std::string manifest;
  LS_CHECK(m.SerializeToString(&manifest), "serializing the checkpoint manifest");
  std::string file(kMagic2, kMagicLen);
  append_le(&file, manifest.size(), 8);
  append_le(&file, crc32_of(manifest.data(), manifest.size()), 4);
  file.reserve(file.size() + manifest.size() + offset);
  file += manifest;
  for (const PayloadBytes& p : payloads) file.append(static_cast<const char*>(p.data), p.size);
  return file;
}

ParsedCheckpoint parse_checkpoint(const std::string& file, const std::string& origin) {
  const Header h = parse_header(file.data(), file.size(), file.size(), origin);
  ParsedCheckpoint out;
  out.format = h.format;
  out.manifest = parse_manifest(file.data() + h.start, h, origin);
  const Manifest& m = out.manifest;
  const uint64_t body_start = h.start + h.manifest_len, body_size = file.size() - body_start;
  out.body = file.data() + body_start;
  LS_CHECK_INPUT(m.params_size() <= 1000000, origin << ": damaged checkpoint manifest (" << m.params_size() << " parameters)");
  for (int i = 0; i < m.params_size(); ++i) numel_of(m.params(i).shape(), origin, "parameter '" + clip(m.params(i).name()) + "'");
  std::set<std::string> names;
  uint64_t next = 0;  // format 2: the payloads tile the body in order
  for (const Payload& p : m.payloads()) {
    const std::string what = "payload '" + clip(p.name()) + "'";
    LS_CHECK_INPUT(names.insert(p.name()).second, origin << ": damaged checkpoint manifest: " << what << " appears twice");
    const uint64_t numel = numel_of(p.shape(), origin, what);
    LS_CHECK_INPUT(p.offset() <= body_size && p.size() <= body_size - p.offset(),
                   origin << ": truncated checkpoint: " << what << " needs bytes up to " << body_start << " + " << p.offset() << " + " << p.size()
                          << ", the file has " << file.size());
    LS_CHECK_INPUT(numel * sizeof(float) == p.size(), origin << ": " << what << " has a size that does not match its shape (damaged manifest)");
    if (h.format == 2) {
      LS_CHECK_INPUT(p.offset() == next, origin << ": damaged checkpoint manifest: " << what << " is not where the one before it ends");
      next += p.size();
    }
    LS_CHECK_INPUT(crc32_of(out.body + p.offset(), p.size()) == p.crc32(), origin << ": " << what << " is damaged (CRC-32 mismatch)");
  }
  if (h.format == 2) {
    LS_CHECK_INPUT(next == body_size, origin << ": damaged checkpoint: " << body_size - next << " bytes after the last payload");
  }
  return out;
}

Manifest peek_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  LS_CHECK_INPUT(in.good(), clip(path, 300) << ": cannot open for reading");
  const uint64_t size = static_cast<uint64_t>(in.tellg());
  char head[kMagicLen + 12] = {};
  in.seekg(0);
  in.read(head, sizeof head);
  const Header h = parse_header(head, static_cast<size_t>(in.gcount()), size, path);
  std::string manifest(static_cast<size_t>(h.manifest_len), '\0');
  in.clear();
  in.seekg(static_cast<std::streamoff>(h.start));
  in.read(manifest.data(), static_cast<std::streamsize>(manifest.size()));
  LS_CHECK_INPUT(static_cast<uint64_t>(in.gcount()) == h.manifest_len, clip(path, 300) << ": truncated checkpoint manifest");
  return parse_manifest(manifest.data(), h, path);
}

}  // namespace lockstep
