#include "common/io/safetensors.h"

#include <zlib.h>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "common/io/jsonl.h"
#include "common/util/error.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

constexpr uint64_t kMaxHeader = 100ull << 20;  // the format's own limit
constexpr int64_t kMaxDim = int64_t{1} << 40;

uint32_t crc_update(uint32_t crc, const void* data, uint64_t n) {
  const char* p = static_cast<const char*>(data);
  uLong c = crc;
  while (n > 0) {
    const uInt chunk = static_cast<uInt>(std::min<uint64_t>(n, 1u << 30));
    c = crc32(c, reinterpret_cast<const Bytef*>(p), chunk);
    p += chunk;
    n -= chunk;
  }
  return static_cast<uint32_t>(c);
}

// The CRC of a file's entries (in offset order), metadata (without the CRC's own key) and data.
uint32_t content_crc(const std::vector<SafetensorsEntry>& entries, const std::map<std::string, std::string>& metadata, const char* data,
                     uint64_t data_size) {
  std::string canon;
  for (const SafetensorsEntry& e : entries) {
    canon += e.name + '\0' + e.dtype + '\0';
    for (int64_t d : e.shape) canon += std::to_string(d) + ',';
    canon += '\0' + std::to_string(e.begin) + ',' + std::to_string(e.end) + '\0';
  }
  canon += '\1';
  for (const auto& [k, v] : metadata) {
    if (k != kSafetensorsCrcKey) canon += k + '\0' + v + '\0';
  }
  uint32_t crc = crc_update(static_cast<uint32_t>(crc32(0L, Z_NULL, 0)), canon.data(), canon.size());
  return crc_update(crc, data, data_size);
}

std::string shape_list(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

uint64_t read_u64_le(const char* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

}  // namespace

size_t safetensors_dtype_size(const std::string& dtype) {
  static const std::map<std::string, size_t> sizes = {{"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4},
                                                      {"I16", 2}, {"I8", 1},  {"U8", 1},  {"BOOL", 1}, {"U16", 2}, {"U32", 4}, {"U64", 8}};
  const auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

SafetensorsView parse_safetensors(const std::string& bytes, const std::string& origin) {
  LS_CHECK_INPUT(bytes.size() >= 8, origin << ": not a safetensors file: " << bytes.size() << " bytes, shorter than the 8-byte header length");
  const uint64_t n = read_u64_le(bytes.data());
  LS_CHECK_INPUT(n <= kMaxHeader, origin << ": not a safetensors file: its header length " << n << " exceeds the format's limit of 100 MB");
  LS_CHECK_INPUT(n <= bytes.size() - 8, origin << ": truncated: the header length says " << n << " bytes, the file has " << bytes.size() - 8
                                               << " after it");
  const std::string header_text = bytes.substr(8, n);
  LS_CHECK_INPUT(!header_text.empty() && header_text[0] == '{', origin << ": not a safetensors file: its header does not start with '{'");
  const nlohmann::json header = nlohmann::json::parse(header_text, nullptr, /*allow_exceptions=*/false);
  LS_CHECK_INPUT(!header.is_discarded() && header.is_object(), origin << ": damaged header: not a JSON object (" << n << " bytes)");
  SafetensorsView v;
  v.data = bytes.data() + 8 + n;
  v.data_size = bytes.size() - 8 - n;
  std::set<std::string> names;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const nlohmann::json& e = it.value();
    if (name == "__metadata__") {
      LS_CHECK_INPUT(e.is_object(), origin << ": damaged header: __metadata__ is not an object");
      for (auto m = e.begin(); m != e.end(); ++m) {
        LS_CHECK_INPUT(m.value().is_string(), origin << ": damaged header: metadata '" << clip(m.key(), 100) << "' is not a string");
        v.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = origin + ": tensor '" + clip(name, 200) + "'";
    LS_CHECK_INPUT(names.insert(name).second, where << " appears twice");
    LS_CHECK_INPUT(e.is_object() && e.contains("dtype") && e.contains("shape") && e.contains("data_offsets"),
                   where << ": damaged header: needs dtype, shape and data_offsets");
    const nlohmann::json &dt = e["dtype"], &sh = e["shape"], &off = e["data_offsets"];
    SafetensorsEntry entry;
    entry.name = name;
    LS_CHECK_INPUT(dt.is_string() && safetensors_dtype_size(dt.get<std::string>()) > 0,
                   where << ": unknown dtype " << clip(dt.dump(), 40));
    entry.dtype = dt.get<std::string>();
    LS_CHECK_INPUT(sh.is_array() && sh.size() <= 16, where << ": damaged header: shape is not a list of at most 16 dimensions");
    uint64_t count = 1;
    for (const nlohmann::json& d : sh) {
      LS_CHECK_INPUT(d.is_number_unsigned() && d.get<uint64_t>() <= static_cast<uint64_t>(kMaxDim),
                     where << ": damaged header: dimension " << clip(d.dump(), 40) << " is not a size");
      const uint64_t dim = d.get<uint64_t>();
      LS_CHECK_INPUT(dim == 0 || count <= std::numeric_limits<uint64_t>::max() / 16 / dim, where << ": its shape overflows");
      count *= dim;
      entry.shape.push_back(static_cast<int64_t>(dim));
    }
    LS_CHECK_INPUT(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
                   where << ": damaged header: data_offsets is not [begin, end]");
    entry.begin = off[0].get<uint64_t>();
    entry.end = off[1].get<uint64_t>();
    LS_CHECK_INPUT(entry.begin <= entry.end && entry.end <= v.data_size,
                   where << ": data_offsets [" << entry.begin << ", " << entry.end << ") lie outside the " << v.data_size << " bytes of data");
    LS_CHECK_INPUT(entry.end - entry.begin == count * safetensors_dtype_size(entry.dtype),
                   where << ": " << entry.end - entry.begin << " bytes for shape " << shape_list(entry.shape) << " of " << entry.dtype << " ("
                         << count * safetensors_dtype_size(entry.dtype) << " bytes)");
    v.entries.push_back(std::move(entry));
  }
  std::sort(v.entries.begin(), v.entries.end(), [](const SafetensorsEntry& a, const SafetensorsEntry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t at = 0;
  for (const SafetensorsEntry& e : v.entries) {
    LS_CHECK_INPUT(e.begin == at, origin << ": damaged header: tensor '" << clip(e.name, 200) << "' starts at byte " << e.begin << " of the data, "
                                         << (e.begin < at ? "inside the tensor before it" : "leaving a gap after the tensor before it")
                                         << " (the tensors must tile the data)");
    at = e.end;
  }
  LS_CHECK_INPUT(at == v.data_size, origin << ": " << v.data_size - at << " bytes of data after the last tensor (the tensors must tile the data)");
  const auto crc = v.metadata.find(kSafetensorsCrcKey);
  // a file with Lockstep's description carries its CRC (so that a damaged key of the CRC is found too)
  LS_CHECK_INPUT(crc != v.metadata.end() || !v.metadata.count("lockstep"),
                 origin << ": damaged: it carries a Lockstep description but not the " << kSafetensorsCrcKey << " written with it");
  if (crc != v.metadata.end()) {
    const uint32_t want = content_crc(v.entries, v.metadata, v.data, v.data_size);
    char hex[16];
    std::snprintf(hex, sizeof hex, "%08x", want);
    LS_CHECK_INPUT(crc->second == hex, origin << ": damaged: its content does not match the CRC-32 Lockstep wrote into it (" << clip(crc->second, 20)
                                              << ", the content's is " << hex << ")");
    v.crc_checked = true;
  }
  return v;
}

std::string encode_safetensors(const std::vector<FloatTensorBytes>& tensors, const std::vector<std::pair<std::string, std::string>>& metadata) {
  std::vector<SafetensorsEntry> entries;
  std::map<std::string, std::string> meta(metadata.begin(), metadata.end());
  meta.erase(kSafetensorsCrcKey);
  uint64_t at = 0;
  for (const FloatTensorBytes& t : tensors) {
    uint64_t count = 1;
    for (int64_t d : t.shape) count *= static_cast<uint64_t>(d);
    entries.push_back({t.name, "F32", t.shape, at, at + 4 * count});
    at += 4 * count;
  }
  std::string data;
  data.reserve(at);
  for (size_t i = 0; i < tensors.size(); ++i) data.append(reinterpret_cast<const char*>(tensors[i].data), entries[i].end - entries[i].begin);
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x", content_crc(entries, meta, data.data(), data.size()));
  meta[kSafetensorsCrcKey] = hex;
  std::string header = "{\"__metadata__\":{";
  bool first = true;
  for (const auto& [k, v] : meta) {
    header += (first ? "" : ",") + json_quote(k) + ":" + json_quote(v);
    first = false;
  }
  header += "}";
  for (const SafetensorsEntry& e : entries) {
    header += "," + json_quote(e.name) + ":{\"dtype\":\"F32\",\"shape\":[";
    for (size_t i = 0; i < e.shape.size(); ++i) header += (i ? "," : "") + std::to_string(e.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(e.begin) + "," + std::to_string(e.end) + "]}";
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // the data at a multiple of 8 bytes
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

}  // namespace lockstep
