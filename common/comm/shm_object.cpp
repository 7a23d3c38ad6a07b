#include "common/comm/shm_object.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <random>
#include <vector>

namespace lockstep {
namespace {

std::string errno_text(const std::string& call) { return call + ": " + std::strerror(errno); }

}  // namespace

void* map_shared_object(Comm& comm, size_t total, std::string* why_not) {
  const int rank = comm.rank(), size = comm.size();
  // 1. rank 0 makes the object ("/name", or "!reason" when it could not)
  std::string name;
  if (rank == 0) {
    name = "/lockstep-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device{}());
    const int fd = ::shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR, 0600);
    if (fd < 0) {
      name = "!" + errno_text("shm_open " + name);
    } else {
      // reserve every page now: on a full /dev/shm this fails here instead of SIGBUS at the first touch
      const int err = ::posix_fallocate(fd, 0, static_cast<off_t>(total));
      ::close(fd);
      if (err != 0) {
        ::shm_unlink(name.c_str());
        name = "!posix_fallocate of " + std::to_string(total >> 20) + " MiB in /dev/shm: " + std::strerror(err);
      }
    }
  }
  comm.broadcast(&name, 0);
  if (name[0] == '!') {
    *why_not = name.substr(1);
    return nullptr;
  }
  // 2. every rank maps it; rank 0 unlinks it once all have (or failed to)
  std::string status;
  void* map = MAP_FAILED;
  const int fd = ::shm_open(name.c_str(), O_RDWR, 0600);
  if (fd < 0) {
    status = errno_text("shm_open " + name);
  } else {
    map = ::mmap(nullptr, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) status = errno_text("mmap of " + std::to_string(total >> 20) + " MiB");
    ::close(fd);
  }
  const std::vector<std::string> all = comm.gather(status, 0);
  std::string verdict;
  if (rank == 0) {
    ::shm_unlink(name.c_str());
    for (int q = 0; q < size && verdict.empty(); ++q) {
      if (!all[q].empty()) verdict = "rank " + std::to_string(q) + ": " + all[q];
    }
  }
  comm.broadcast(&verdict, 0);
  if (!verdict.empty()) {
    if (map != MAP_FAILED) ::munmap(map, total);
    *why_not = verdict;
    return nullptr;
  }
  return map;
}

}  // namespace lockstep
