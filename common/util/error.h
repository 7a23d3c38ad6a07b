// Errors of Lockstep and the check macros that raise them.
//
// Contract:
// - BadInput: the user's input is wrong (config, command line, data file, checkpoint). main() prints the
//   message and exits with code 2. Messages name the file, line, field or argument that is wrong.
// - InternalError: a failed call or a broken invariant. main() exits with code 1. The message names the
//   failing call (its source text), the file and the line.
// - DistributedError (and CommError, comm.h): replicas diverged or a collective failed; exit code 3.
// - TrainingStopped: every rank stopped on non-finite values (train.nonfinite STOP, a run whose every tick was
//   skipped, samples that are not finite); exit code 4.
// - Preempted: a stop signal arrived after the last checkpoint was written, and every rank stopped; exit code 75.
// - No code outside main() calls exit(); everything throws.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace lockstep {

class BadInput : public std::runtime_error {
 public:
  explicit BadInput(const std::string& what) : std::runtime_error(what) {}
};

class InternalError : public std::runtime_error {
 public:
  explicit InternalError(const std::string& what) : std::runtime_error(what) {}
};

// Ranks diverged, a rank was lost, or a collective timed out (exit code 3). `reported` is true when rank 0 has
// already printed the message (the other ranks then stay quiet).
class DistributedError : public std::runtime_error {
 public:
  DistributedError(const std::string& what, bool reported) : std::runtime_error(what), reported_(reported) {}
  bool reported() const { return reported_; }

 private:
  bool reported_;
};

// Training stopped on purpose by every rank together (train.nonfinite STOP: a NaN or Inf in the loss or the
// gradients); exit code 4.
class TrainingStopped : public std::runtime_error {
 public:
  explicit TrainingStopped(const std::string& what) : std::runtime_error(what) {}
};

// Every rank stopped on a stop signal (SIGTERM, SIGUSR1) outside the tick loop (the final sampling), with the last
// checkpoint written; exit code 75.
class Preempted : public std::runtime_error {
 public:
  explicit Preempted(const std::string& what) : std::runtime_error(what) {}
};

// Exit codes of the lockstep binary (documented in the README). 75 is sysexits' EX_TEMPFAIL: "try again" --
// a batch script requeues the job and continues it with --resume.
enum ExitCode : int {
  kExitOk = 0,
  kExitInternal = 1,
  kExitBadInput = 2,
  kExitDistributed = 3,
  kExitNonFinite = 4,
  kExitPreempted = 75,
};

namespace detail {
[[noreturn]] void throw_internal(const char* expr, const char* file, int line, const std::string& msg);
[[noreturn]] void throw_errno(const char* expr, const char* file, int line, const std::string& what);
}  // namespace detail

// Builds a message from stream pieces: LS_MSG("got " << x).
#define LS_MSG(pieces) (static_cast<std::ostringstream&&>(std::ostringstream() << pieces).str())

// An invariant of the program; failure is a bug (exit 1).
#define LS_CHECK(cond, pieces)                                                         \
  do {                                                                                 \
    if (!(cond)) ::lockstep::detail::throw_internal(#cond, __FILE__, __LINE__, LS_MSG(pieces)); \
  } while (0)

// A property of the user's input; failure is the user's to fix (exit 2).
#define LS_CHECK_INPUT(cond, pieces)                  \
  do {                                                \
    if (!(cond)) throw ::lockstep::BadInput(LS_MSG(pieces)); \
  } while (0)

// A POSIX call returning -1 on failure: LS_CHECK_SYS(::fsync(fd), path).
#define LS_CHECK_SYS(call, what)                                                        \
  ([&]() {                                                                              \
    auto ls_rc_ = (call);                                                               \
    if (ls_rc_ == -1) ::lockstep::detail::throw_errno(#call, __FILE__, __LINE__, LS_MSG(what)); \
    return ls_rc_;                                                                      \
  }())

}  // namespace lockstep
