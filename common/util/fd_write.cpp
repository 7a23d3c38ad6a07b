#include "common/util/fd_write.h"

#include <unistd.h>

#include <cerrno>

#include "common/util/error.h"

namespace lockstep {

void write_all(int fd, const void* data, size_t n, const std::string& file) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    LS_CHECK_SYS(w, "write " << file);
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void write_all_at(int fd, const void* data, size_t n, uint64_t offset, const std::string& file) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    LS_CHECK_SYS(w, "pwrite " << file);
    p += w;
    n -= static_cast<size_t>(w);
    offset += static_cast<uint64_t>(w);
  }
}

}  // namespace lockstep
