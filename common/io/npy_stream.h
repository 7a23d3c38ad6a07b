// Writing an array of known final shape piece by piece, so that it never has to fit in memory: the float32 .npy
// here, uint8 images in .npz in npz_stream.h, behind one interface (ArrayStream).
//
// Contract: the constructor creates a temporary file beside `path` (fs.h) and writes the header for the final shape; append() adds
// whole items in order; finish() checks that exactly shape[0] items came, fsyncs, renames the file to `path`
// and fsyncs the directory (atomic: `path` is either absent/old or complete). A writer destroyed before
// finish() removes its temporary file. I/O failures throw InternalError naming the call and file. No torch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lockstep {

class ArrayStream {
 public:
  virtual ~ArrayStream() = default;
  // `items` whole items (each the product of shape[1:] floats), in order.
  virtual void append(const float* data, int64_t items) = 0;
  virtual void finish() = 0;
};

class NpyStreamWriter : public ArrayStream {
 public:
  NpyStreamWriter(const std::string& path, const std::vector<int64_t>& shape);
  ~NpyStreamWriter() override;
  NpyStreamWriter(const NpyStreamWriter&) = delete;
  NpyStreamWriter& operator=(const NpyStreamWriter&) = delete;
  void append(const float* data, int64_t items) override;
  void finish() override;
  int64_t written() const { return written_; }

 private:
  std::string path_, tmp_;
  int fd_ = -1;
  int64_t total_ = 0, item_numel_ = 1, written_ = 0;
};

}  // namespace lockstep
