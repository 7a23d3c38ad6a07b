#include "common/util/fault.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/util/error.h"
#include "common/util/stop_signal.h"

namespace lockstep {
namespace {

constexpr const char* kKinds[] = {"kill", "stall", "term", "slow", "nan", "perturb", "ckpt_kill"};

// digits only, at most 19 of them (no overflow)
bool parse_number(const std::string& text, uint64_t* out) {
  if (text.empty() || text.size() > 19) return false;
  uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

}  // namespace

FaultInjector::FaultInjector(int rank) {
  const char* env = std::getenv("LOCKSTEP_FAULT");
  if (env == nullptr || *env == '\0') return;
  const std::string text(env);
  const size_t a = text.find(':'), b = a == std::string::npos ? a : text.find(':', a + 1);
  const std::string kind = text.substr(0, a);
  uint64_t fault_rank = 0, tick = 0;
  bool known = false;
  for (const char* k : kKinds) known = known || kind == k;
  const bool ok = known && b != std::string::npos && parse_number(text.substr(a + 1, b - a - 1), &fault_rank) &&
                  parse_number(text.substr(b + 1), &tick) && fault_rank < (uint64_t{1} << 31);
  LS_CHECK_INPUT(ok, "LOCKSTEP_FAULT='" << (text.size() > 80 ? text.substr(0, 80) + "..." : text)
                                        << "': expected KIND:RANK:TICK with KIND one of kill, stall, term, slow, nan, perturb, ckpt_kill");
  if (static_cast<int>(fault_rank) != rank) return;
  kind_ = kind;
  tick_ = tick;
}

bool FaultInjector::at(FaultPhase phase, uint64_t tick, uint64_t samples) const {
  if (kind_.empty()) return false;
  const bool now = tick == tick_;
  switch (phase) {
    case FaultPhase::kTickStart:
      if (!now) return false;
      if (kind_ == "kill") ::kill(::getpid(), SIGKILL);
      if (kind_ == "stall") std::this_thread::sleep_for(std::chrono::hours(1));
      if (kind_ == "term") {
        ::kill(::getpid(), SIGTERM);
        await_stop_signal(10000);  // as a real SIGTERM during this tick would be, deterministically
      }
      return false;
    case FaultPhase::kData:
      if (kind_ == "slow" && tick >= tick_) std::this_thread::sleep_for(std::chrono::microseconds(200 * samples));
      return now && kind_ == "nan";
    case FaultPhase::kStep:
      return now && kind_ == "perturb";
    case FaultPhase::kCheckpoint:
      return now && kind_ == "ckpt_kill";
  }
  return false;
}

}  // namespace lockstep
