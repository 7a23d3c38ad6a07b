#include "common/util/error.h"

#include <cerrno>
#include <cstring>

namespace lockstep::detail {

void throw_internal(const char* expr, const char* file, int line, const std::string& msg) {
  std::ostringstream os;
  os << "internal error: " << msg << " (check `" << expr << "` failed at " << file << ":" << line << ")";
  throw InternalError(os.str());
}

void throw_errno(const char* expr, const char* file, int line, const std::string& what) {
  int err = errno;
  std::ostringstream os;
  os << what << ": " << std::strerror(err) << " (`" << expr << "` failed at " << file << ":" << line << ")";
  throw InternalError(os.str());
}

}  // namespace lockstep::detail
