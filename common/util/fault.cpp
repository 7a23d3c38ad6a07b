#include "common/util/fault.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/util/error.h"
#include "common/util/stop_signal.h"
#include "common/util/strings.h"

namespace lockstep {
namespace {

constexpr uint64_t kSlowMicros = 200;  // slow's default delay per sample
constexpr const char* kKinds[] = {"kill", "stall", "term", "slow", "nan", "perturb", "ckpt_kill", "overflow", "overflow_from"};

}  // namespace

FaultInjector::FaultInjector(int rank) {
  const char* env = std::getenv("LOCKSTEP_FAULT");
  if (env == nullptr || *env == '\0') return;
  const std::string text(env);
  const size_t a = text.find(':'), b = a == std::string::npos ? a : text.find(':', a + 1);
  const size_t c = b == std::string::npos ? b : text.find(':', b + 1);  // slow's optional microseconds
  const std::string kind = text.substr(0, a);
  uint64_t fault_rank = 0, tick = 0, micros = kSlowMicros;
  bool known = false;
  for (const char* k : kKinds) known = known || kind == k;
  const bool ok = known && b != std::string::npos && parse_decimal(text.substr(a + 1, b - a - 1), &fault_rank) &&
                  parse_decimal(text.substr(b + 1, c == std::string::npos ? c : c - b - 1), &tick) && fault_rank < (uint64_t{1} << 31) &&
                  (c == std::string::npos || (kind == "slow" && parse_decimal(text.substr(c + 1), &micros) && micros <= 1000000));
  LS_CHECK_INPUT(ok, "LOCKSTEP_FAULT='" << clip(text, 80)
                                        << "': expected KIND:RANK:TICK with KIND one of kill, stall, term, slow, nan, perturb, ckpt_kill, overflow, "
                                           "overflow_from (slow:RANK:TICK:MICROS sets its microseconds per sample, at most 1000000)");
  if (static_cast<int>(fault_rank) != rank) return;
  kind_ = kind;
  tick_ = tick;
  slow_micros_ = micros;
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
      if (kind_ == "slow" && tick >= tick_) std::this_thread::sleep_for(std::chrono::microseconds(slow_micros_ * samples));
      return now && kind_ == "nan";
    case FaultPhase::kBackward:
      return (now && kind_ == "overflow") || (tick >= tick_ && kind_ == "overflow_from");
    case FaultPhase::kStep:
      return now && kind_ == "perturb";
    case FaultPhase::kCheckpoint:
      return now && kind_ == "ckpt_kill";
  }
  return false;
}

}  // namespace lockstep
