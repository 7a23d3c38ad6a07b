#include "common/util/fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/util/error.h"

namespace lockstep {
namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::error_code ec;
  LS_CHECK_INPUT(fs::exists(path, ec), path << ": no such file");
  LS_CHECK_INPUT(!fs::is_directory(path, ec), path << ": is a directory, expected a file");
  std::ifstream in(path, std::ios::binary);
  LS_CHECK_INPUT(in.good(), path << ": cannot open for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file_atomic(const std::string& path, const std::string& bytes) {
  std::string tmp = path + ".tmp-" + std::to_string(::getpid());
  int fd = LS_CHECK_SYS(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644), "open " << tmp);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ::close(fd);
    LS_CHECK_SYS(n, "write " << tmp);
    done += static_cast<size_t>(n);
  }
  LS_CHECK_SYS(::fsync(fd), "fsync " << tmp);
  LS_CHECK_SYS(::close(fd), "close " << tmp);
  LS_CHECK_SYS(::rename(tmp.c_str(), path.c_str()), "rename " << tmp << " to " << path);
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  int dfd = LS_CHECK_SYS(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), "open directory " << dir);
  LS_CHECK_SYS(::fsync(dfd), "fsync directory " << dir);
  ::close(dfd);
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
