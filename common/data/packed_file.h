// Packed data sets: uint8 images in one file laid out for memory mapping (common/proto/packed.proto has the layout).
// Written once by `lockstep data pack`; every rank maps the file and reads only the items of its slice. No torch.
//
// Contract:
// - parse_packed_header() checks the fixed header and the PackedHeader of an untrusted file: the magic, the
//   header's CRC, its sizes against the file's size (count x item size from data_offset, with overflow-safe
//   arithmetic), the shape (1 or 3 channels, positive sizes), one label per item (or none) below the number of
//   class names, and one CRC per chunk; BadInput naming `origin` otherwise.
// - PackedFile maps a file read-only (the header is read with pread). read(i, out) copies item i's bytes after
//   checking its chunk's CRC the first time any thread touches that chunk (BadInput naming the chunk and the file
//   when it does not match: a modified or damaged file); chunks are at most 64 KiB, so a rank's memory grows by the
//   pages of the chunks it touched. Reads of the mapping are guarded against SIGBUS: a file cut under the process
//   gives BadInput, not a crash (a SIGBUS outside these reads keeps its previous disposition).
//   check_unchanged() throws BadInput when the file's size, modification time or inode changed since it was opened
//   (a packed file replaced or cut while a run uses it; the training data phase asks every tick). verify_all()
//   checks every chunk (lockstep data info --verify).
// - PackedWriter writes a new file: items appended in order, the header last, written atomically at finish()
//   (temporary name beside the file, fsync, rename): an interrupted pack leaves nothing under the file's name.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/proto/packed.pb.h"

namespace lockstep {

constexpr uint64_t kPackedChunkBytes = uint64_t{1} << 16;
constexpr uint64_t kPackedAlign = 4096;

// The items per chunk for items of `item_size` bytes.
uint64_t packed_chunk_items(uint64_t item_size);
PackedHeader parse_packed_header(const char* head, size_t head_size, uint64_t file_size, const std::string& origin);

class PackedFile {
 public:
  explicit PackedFile(const std::string& path);
  ~PackedFile();
  PackedFile(const PackedFile&) = delete;
  PackedFile& operator=(const PackedFile&) = delete;

  const PackedHeader& header() const { return header_; }
  const std::string& path() const { return path_; }
  uint64_t count() const { return header_.count(); }
  uint64_t item_size() const { return item_size_; }
  bool labelled() const { return header_.labels_size() > 0; }
  // item i's item_size() bytes into out
  void read(uint64_t i, uint8_t* out) const;
  int64_t label(uint64_t i) const { return labelled() ? static_cast<int64_t>(header_.labels(static_cast<int>(i))) : 0; }
  void check_unchanged() const;
  // progress(chunks done, chunks): called now and then.
  void verify_all(const std::function<void(uint64_t, uint64_t)>& progress = nullptr) const;

 private:
  void open_mapped();
  void verify_chunk(uint64_t chunk) const;
  std::string cut_message() const;
  std::string path_;
  PackedHeader header_;
  int fd_ = -1;
  const uint8_t* map_ = nullptr;
  uint64_t map_size_ = 0, item_size_ = 0, chunk_items_ = 1;
  uint64_t dev_ = 0, ino_ = 0, size_ = 0;
  int64_t mtime_ns_ = 0;
  std::unique_ptr<std::atomic<uint8_t>[]> verified_;
};

class PackedWriter {
 public:
  // max_items: an upper bound on the items to come (it sizes the room for the header).
  PackedWriter(const std::string& path, uint32_t channels, uint32_t height, uint32_t width, std::vector<std::string> class_names,
               bool labelled, uint64_t max_items, std::string source);
  ~PackedWriter();
  PackedWriter(const PackedWriter&) = delete;
  PackedWriter& operator=(const PackedWriter&) = delete;
  void append(const uint8_t* item, uint32_t label);
  uint64_t written() const { return header_.count(); }
  void finish(uint64_t skipped);

 private:
  void flush_chunk();
  std::string path_, tmp_;
  int fd_ = -1;
  PackedHeader header_;
  uint64_t item_size_ = 0, chunk_items_ = 1, max_items_ = 0;
  bool labelled_ = false;
  std::string pending_;  // the bytes of the chunk being filled
};

}  // namespace lockstep
