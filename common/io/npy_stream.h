// Writing a float32 .npy array of known final shape piece by piece, so that it never has to fit in memory.
//
// Contract: the constructor creates <path>.tmp-<pid> and writes the header for the final shape; append() adds
// whole items in order; finish() checks that exactly shape[0] items came, fsyncs, renames the file to `path`
// and fsyncs the directory (atomic: `path` is either absent/old or complete). A writer destroyed before
// finish() removes its temporary file. I/O failures throw InternalError naming the call and file. No torch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lockstep {

class NpyStreamWriter {
 public:
  NpyStreamWriter(const std::string& path, const std::vector<int64_t>& shape);
  ~NpyStreamWriter();
  NpyStreamWriter(const NpyStreamWriter&) = delete;
  NpyStreamWriter& operator=(const NpyStreamWriter&) = delete;
  // `items` whole items (each the product of shape[1:] floats).
  void append(const float* data, int64_t items);
  void finish();
  int64_t written() const { return written_; }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  int64_t total_ = 0, item_numel_ = 1, written_ = 0;
};

}  // namespace lockstep
