// Images as the standard FID tools read them: an .npz (a zip of .npy arrays) with arr_0, uint8 [N, H, W, C], and,
// for class-conditional samples, arr_1, int64 [N] labels (guided-diffusion's and DiT's evaluators), streamed so
// that N images never have to fit in memory. No torch.
//
// Contract: append() takes whole float items [C, H, W] in [-1, 1] and stores them as uint8 channels last by EDM's
// rule, floor(x * 127.5 + 128) clamped to [0, 255]; finish() adds arr_1 (when labels were given), the zip's
// central directory (ZIP64 where sizes need it), fsyncs and renames the temporary file to `path` (atomic, fs.h).
// Entries are stored uncompressed with their CRC-32. A writer destroyed before finish() removes its file.
// to_uint8_hwc() is the conversion of one item, also used for PNG files of samples.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/io/npy_stream.h"

namespace lockstep {

void to_uint8_hwc(const float* chw, int64_t c, int64_t h, int64_t w, uint8_t* hwc);

class NpzImageWriter : public ArrayStream {
 public:
  // item_shape [C, H, W]; labels: one per image (empty: no arr_1)
  NpzImageWriter(const std::string& path, int64_t count, const std::vector<int64_t>& item_shape, std::vector<int64_t> labels);
  ~NpzImageWriter() override;
  NpzImageWriter(const NpzImageWriter&) = delete;
  NpzImageWriter& operator=(const NpzImageWriter&) = delete;
  void append(const float* data, int64_t items) override;
  void finish() override;

 private:
  struct Entry {
    std::string name;
    uint64_t offset = 0, size = 0;  // of the local header, of the data
    uint32_t crc = 0;
  };
  void begin_entry(const std::string& name, uint64_t size);
  void close_entry();
  void write(const void* data, size_t n);
  std::string path_, tmp_;
  int fd_ = -1;
  uint64_t at_ = 0;
  int64_t count_ = 0, written_ = 0, c_ = 0, h_ = 0, w_ = 0;
  std::vector<int64_t> labels_;
  std::vector<Entry> entries_;
  uint32_t crc_ = 0;  // of the entry being written
  std::vector<uint8_t> buf_;
};

}  // namespace lockstep
