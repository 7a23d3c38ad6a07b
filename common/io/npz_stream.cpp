#include "common/io/npz_stream.h"

#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "common/io/npy.h"
#include "common/util/error.h"
#include "common/util/fd_write.h"
#include "common/util/fs.h"

namespace lockstep {
namespace {

constexpr uint64_t kMax32 = 0xffffffffull;

void le(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) *out += static_cast<char>((v >> (8 * i)) & 0xff);
}

// The header of a .npy array of any dtype ("|u1", "<i8") and shape (npy_header() writes float32).
std::string npy_header_of(const std::string& descr, const std::vector<int64_t>& shape) {
  std::string h = npy_header(shape);
  const size_t at = h.find("'<f4'");
  h.replace(at, 5, "'" + descr + "'");  // the same length: the 64-byte alignment holds
  return h;
}

}  // namespace

void to_uint8_hwc(const float* chw, int64_t c, int64_t h, int64_t w, uint8_t* hwc) {
  for (int64_t k = 0; k < c; ++k) {
    for (int64_t i = 0; i < h * w; ++i) {
      const float x = chw[k * h * w + i];
      const double v = std::floor(static_cast<double>(x) * 127.5 + 128.0);  // EDM's rule; NaN becomes 0
      hwc[i * c + k] = static_cast<uint8_t>(v >= 255.0 ? 255.0 : (v >= 0.0 ? v : 0.0));
    }
  }
}

NpzImageWriter::NpzImageWriter(const std::string& path, int64_t count, const std::vector<int64_t>& item_shape, std::vector<int64_t> labels)
    : path_(path), count_(count), labels_(std::move(labels)) {
  LS_CHECK(item_shape.size() == 3, "NpzImageWriter: items [C, H, W], got " << item_shape.size() << " dimensions");
  LS_CHECK(labels_.empty() || static_cast<int64_t>(labels_.size()) == count, "NpzImageWriter: " << labels_.size() << " labels for " << count);
  c_ = item_shape[0], h_ = item_shape[1], w_ = item_shape[2];
  fd_ = create_temp_beside(path, &tmp_);
  const std::string header = npy_header_of("|u1", {count, h_, w_, c_});
  begin_entry("arr_0.npy", header.size() + static_cast<uint64_t>(count * h_ * w_ * c_));
  write(header.data(), header.size());
}

NpzImageWriter::~NpzImageWriter() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

void NpzImageWriter::write(const void* data, size_t n) {
  crc_ = static_cast<uint32_t>(crc32_z(crc_, static_cast<const Bytef*>(data), n));  // z_size_t: no 4 GiB cut
  write_all(fd_, data, n, tmp_);
  at_ += n;
}

void NpzImageWriter::close_entry() {  // the entry written last: its CRC into its local header
  char crc[4];
  for (int i = 0; i < 4; ++i) crc[i] = static_cast<char>((crc_ >> (8 * i)) & 0xff);
  write_all_at(fd_, crc, 4, entries_.back().offset + 14, tmp_);
  entries_.back().crc = crc_;
}

void NpzImageWriter::begin_entry(const std::string& name, uint64_t size) {
  if (!entries_.empty()) close_entry();
  Entry e{name, at_, size, 0};
  const bool big = size >= kMax32;
  std::string h;
  le(&h, 0x04034b50, 4);
  le(&h, big ? 45 : 20, 2);
  le(&h, 0, 2);       // flags
  le(&h, 0, 2);       // stored
  le(&h, 0, 2);       // time 00:00
  le(&h, 0x21, 2);    // date 1980-01-01: the same bytes every time
  le(&h, 0, 4);       // CRC-32, written when the data is complete
  le(&h, big ? kMax32 : size, 4);
  le(&h, big ? kMax32 : size, 4);
  le(&h, name.size(), 2);
  le(&h, big ? 20 : 0, 2);
  h += name;
  if (big) {
    le(&h, 0x0001, 2);
    le(&h, 16, 2);
    le(&h, size, 8);
    le(&h, size, 8);
  }
  write(h.data(), h.size());
  crc_ = 0;  // the entry's CRC covers its data, not its header
  entries_.push_back(e);
}

void NpzImageWriter::append(const float* data, int64_t items) {
  LS_CHECK(fd_ >= 0 && written_ + items <= count_, "NpzImageWriter: " << written_ + items << " images for " << count_);
  buf_.resize(static_cast<size_t>(c_ * h_ * w_));
  for (int64_t i = 0; i < items; ++i) {
    to_uint8_hwc(data + i * c_ * h_ * w_, c_, h_, w_, buf_.data());
    write(buf_.data(), buf_.size());
  }
  written_ += items;
}

void NpzImageWriter::finish() {
  LS_CHECK(written_ == count_, "NpzImageWriter: " << written_ << " of " << count_ << " images written to " << path_);
  if (!labels_.empty()) {
    const std::string header = npy_header_of("<i8", {count_});
    begin_entry("arr_1.npy", header.size() + labels_.size() * 8);
    write(header.data(), header.size());
    std::string body;
    for (int64_t y : labels_) le(&body, static_cast<uint64_t>(y), 8);
    write(body.data(), body.size());
  }
  close_entry();
  const uint64_t cd_offset = at_;
  std::string cd;
  for (const Entry& e : entries_) {
    const bool big_size = e.size >= kMax32, big_offset = e.offset >= kMax32;
    std::string extra;
    if (big_size) {
      le(&extra, e.size, 8);
      le(&extra, e.size, 8);
    }
    if (big_offset) le(&extra, e.offset, 8);
    le(&cd, 0x02014b50, 4);
    le(&cd, 45, 2);
    le(&cd, big_size || big_offset ? 45 : 20, 2);
    le(&cd, 0, 2);
    le(&cd, 0, 2);
    le(&cd, 0, 2);
    le(&cd, 0x21, 2);
    le(&cd, e.crc, 4);
    le(&cd, big_size ? kMax32 : e.size, 4);
    le(&cd, big_size ? kMax32 : e.size, 4);
    le(&cd, e.name.size(), 2);
    le(&cd, extra.empty() ? 0 : extra.size() + 4, 2);
    le(&cd, 0, 2);  // comment
    le(&cd, 0, 2);  // disk
    le(&cd, 0, 2);  // internal attributes
    le(&cd, 0, 4);  // external attributes
    le(&cd, big_offset ? kMax32 : e.offset, 4);
    cd += e.name;
    if (!extra.empty()) {
      le(&cd, 0x0001, 2);
      le(&cd, extra.size(), 2);
      cd += extra;
    }
  }
  const uint64_t cd_size = cd.size(), zip64_at = cd_offset + cd_size;
  const bool zip64 = cd_offset >= kMax32 || std::any_of(entries_.begin(), entries_.end(), [](const Entry& e) { return e.size >= kMax32; });
  if (zip64) {
    le(&cd, 0x06064b50, 4);
    le(&cd, 44, 8);
    le(&cd, 45, 2);
    le(&cd, 45, 2);
    le(&cd, 0, 4);
    le(&cd, 0, 4);
    le(&cd, entries_.size(), 8);
    le(&cd, entries_.size(), 8);
    le(&cd, cd_size, 8);
    le(&cd, cd_offset, 8);
    le(&cd, 0x07064b50, 4);
    le(&cd, 0, 4);
    le(&cd, zip64_at, 8);
    le(&cd, 1, 4);
  }
  le(&cd, 0x06054b50, 4);
  le(&cd, 0, 2);
  le(&cd, 0, 2);
  le(&cd, entries_.size(), 2);
  le(&cd, entries_.size(), 2);
  le(&cd, zip64 ? kMax32 : cd_size, 4);
  le(&cd, zip64 ? kMax32 : cd_offset, 4);
  le(&cd, 0, 2);
  write(cd.data(), cd.size());
  const int fd = fd_;
  fd_ = -1;
  commit_temp(fd, tmp_, path_);
}

}  // namespace lockstep
