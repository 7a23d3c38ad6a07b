#include "common/util/memory.h"

#include <sys/resource.h>

#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "common/util/error.h"

namespace lockstep {

uint64_t memory_available_bytes() {
  if (std::FILE* f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    unsigned long long kb = 0;
    bool found = false;
    while (std::fgets(line, sizeof line, f)) {
      if (std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
        found = true;
        break;
      }
    }
    std::fclose(f);
    if (found) return static_cast<uint64_t>(kb) * 1024;
  }
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  if (pages > 0 && page > 0) return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page);
  return uint64_t{1} << 62;
}

std::string bytes_text(uint64_t bytes) {
  char buf[32];
  if (bytes >= 1000000000ull) std::snprintf(buf, sizeof buf, "%.1f GB", static_cast<double>(bytes) / 1e9);
  else if (bytes >= 1000000ull) std::snprintf(buf, sizeof buf, "%.1f MB", static_cast<double>(bytes) / 1e6);
  else std::snprintf(buf, sizeof buf, "%.1f KB", static_cast<double>(bytes) / 1e3);
  return buf;
}

void check_fits_in_memory(uint64_t bytes, const std::string& what, const std::string& hint) {
  const uint64_t available = memory_available_bytes();
  LS_CHECK_INPUT(bytes <= available, what << " needs " << bytes_text(bytes) << ", more than the " << bytes_text(available)
                                          << " of memory available" << (hint.empty() ? "" : " (" + hint + ")"));
}

double peak_resident_mib() {
  struct rusage u {};
  if (::getrusage(RUSAGE_SELF, &u) != 0) return 0.0;
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux: KiB
}

}  // namespace lockstep
