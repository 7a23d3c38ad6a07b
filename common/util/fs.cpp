#include "common/util/fs.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/util/error.h"
#include "common/util/fd_write.h"
#include "common/util/memory.h"
#include "common/util/strings.h"

namespace lockstep {
namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  struct stat st {};
  LS_CHECK_INPUT(::stat(path.c_str(), &st) == 0, clip(path, 300) << ": no such file");
  LS_CHECK_INPUT(!S_ISDIR(st.st_mode), clip(path, 300) << ": is a directory, expected a file");
  LS_CHECK_INPUT(S_ISREG(st.st_mode), clip(path, 300) << ": is not a regular file (a device, pipe or socket)");
  check_fits_in_memory(static_cast<uint64_t>(st.st_size), clip(path, 300) + ": reading the file", "");
  std::ifstream in(path, std::ios::binary);
  LS_CHECK_INPUT(in.good(), clip(path, 300) << ": cannot open for reading");
  std::string out(static_cast<size_t>(st.st_size), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  out.resize(static_cast<size_t>(in.gcount()));  // a file that shrank meanwhile
  LS_CHECK_INPUT(!in.bad(), clip(path, 300) << ": read error");
  return out;
}

std::string random_hex(size_t n) {
  std::string bytes(n, '\0');
  size_t got = 0;
  while (got < n) {
    const ssize_t r = ::getrandom(bytes.data() + got, n - got, 0);
    if (r < 0 && errno == EINTR) continue;
    LS_CHECK_SYS(r, "getrandom");
    got += static_cast<size_t>(r);
  }
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

int create_temp_beside(const std::string& path, std::string* tmp) {
  const fs::path p(path);
  for (int attempt = 0;; ++attempt) {
    *tmp = (p.parent_path() / ("." + p.filename().string() + ".tmp-" + random_hex(8))).string();
    const int fd = ::open(tmp->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0) return fd;
    if (errno == EEXIST && attempt < 8) continue;  // 2^-64 a time
    LS_CHECK_INPUT(errno != ENOENT && errno != ENOTDIR, clip(path, 300) << ": no such directory " << clip(p.parent_path().string(), 300));
    LS_CHECK_INPUT(errno != EACCES && errno != EPERM && errno != EROFS, clip(path, 300) << ": cannot write there (" << std::strerror(errno) << ")");
    LS_CHECK_SYS(fd, "open " << *tmp);
  }
}

bool is_temp_of(const std::string& temp_name, const std::string& name) {
  const std::string prefix = "." + name + ".tmp-";
  if (temp_name.size() != prefix.size() + 16 || temp_name.compare(0, prefix.size(), prefix) != 0) return false;
  return std::all_of(temp_name.begin() + static_cast<std::ptrdiff_t>(prefix.size()), temp_name.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

void commit_temp(int fd, const std::string& tmp, const std::string& path) {
  // until the rename, a failure removes the temporary file: nothing is left under either name
  const auto fail_before_rename = [&](const char* call) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    errno = err;
    LS_CHECK_SYS(-1, call << " " << tmp);
  };
  if (::fsync(fd) != 0) fail_before_rename("fsync");
  const int closed = ::close(fd);
  if (closed != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    errno = err;
    LS_CHECK_SYS(closed, "close " << tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    errno = err;
    LS_CHECK_INPUT(err != EISDIR, clip(path, 300) << ": is a directory");
    LS_CHECK_SYS(-1, "rename " << tmp << " to " << path);
  }
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  const int dfd = LS_CHECK_SYS(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open directory " << dir);
  const int synced = ::fsync(dfd);
  ::close(dfd);
  LS_CHECK_SYS(synced, "fsync directory " << dir);
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  std::string tmp;
  const int fd = create_temp_beside(path, &tmp);
  try {
    write_all(fd, bytes.data(), bytes.size(), tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  commit_temp(fd, tmp, path);
}

int open_append_nofollow(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
  LS_CHECK_INPUT(fd >= 0 || errno != ELOOP, clip(path, 300) << ": is a symbolic link; Lockstep writes its own files only, never through a link");
  LS_CHECK_INPUT(fd >= 0, clip(path, 300) << ": cannot open for appending (" << std::strerror(errno) << ")");
  return fd;
}

bool exists_nofollow(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool is_symlink(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

void make_dirs(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  LS_CHECK_INPUT(!ec && fs::is_directory(path), path << ": cannot create directory (" << ec.message() << ")");
}

bool is_dir(const std::string& path) {
  std::error_code ec;
  return fs::is_directory(path, ec);
}

bool is_file(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

std::string timestamp_now() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  localtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", &tm);
  return buf;
}

}  // namespace lockstep
