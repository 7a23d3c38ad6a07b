#include "common/io/npy_stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "common/io/npy.h"
#include "common/util/error.h"
#include "common/util/fd_write.h"
#include "common/util/fs.h"

namespace lockstep {

NpyStreamWriter::NpyStreamWriter(const std::string& path, const std::vector<int64_t>& shape)
    : path_(path) {
  LS_CHECK(!shape.empty(), "NpyStreamWriter: an array needs a shape");
  total_ = shape[0];
  for (size_t i = 1; i < shape.size(); ++i) item_numel_ *= shape[i];
  fd_ = create_temp_beside(path_, &tmp_);
  const std::string header = npy_header(shape);
  write_all(fd_, header.data(), header.size(), tmp_);
}

NpyStreamWriter::~NpyStreamWriter() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
}

void NpyStreamWriter::append(const float* data, int64_t items) {
  LS_CHECK(fd_ >= 0 && written_ + items <= total_, "NpyStreamWriter: " << written_ + items << " items for an array of " << total_);
  write_all(fd_, reinterpret_cast<const char*>(data), static_cast<size_t>(items * item_numel_) * sizeof(float), tmp_);
  written_ += items;
}

void NpyStreamWriter::finish() {
  LS_CHECK(written_ == total_, "NpyStreamWriter: " << written_ << " of " << total_ << " items written to " << path_);
  const int fd = fd_;
  fd_ = -1;
  commit_temp(fd, tmp_, path_);
}

}  // namespace lockstep
