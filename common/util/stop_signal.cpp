#include "common/util/stop_signal.h"

#include <signal.h>

#include <atomic>
#include <cstring>

#include "common/util/error.h"

namespace lockstep {
namespace {

std::atomic<int> g_signal{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal flag must be lock-free");

void on_signal(int sig) {
  int none = 0;
  g_signal.compare_exchange_strong(none, sig);
}

}  // namespace

void install_stop_signal_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGUSR1}) LS_CHECK_SYS(::sigaction(sig, &sa, nullptr), "sigaction " << sig);
}

int stop_signal() { return g_signal.load(); }

}  // namespace lockstep
