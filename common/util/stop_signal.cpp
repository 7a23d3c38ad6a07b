#include "common/util/stop_signal.h"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "common/util/error.h"

namespace lockstep {
namespace {

std::atomic<int> g_signal{0};
std::atomic<bool> g_armed{false};
static_assert(std::atomic<int>::is_always_lock_free, "the signal flag must be lock-free");

// The first stop signal wins; async-signal-safe (a lock-free atomic), so it also serves as the handler.
void record(int sig) {
  int none = 0;
  g_signal.compare_exchange_strong(none, sig);
}

sigset_t stop_set() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGUSR1);
  return set;
}

void wait_for_signals() {
  const sigset_t set = stop_set();
  for (;;) {
    int sig = 0;
    if (sigwait(&set, &sig) != 0) continue;
    if (g_armed.load()) {
      record(sig);
      continue;
    }
    // not training (yet): the default action, i.e. the process ends by this signal
    ::signal(sig, SIG_DFL);
    sigset_t one;
    sigemptyset(&one);
    sigaddset(&one, sig);
    pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
    ::raise(sig);
  }
}

}  // namespace

void start_stop_signal_thread() {
  const sigset_t set = stop_set();
  const int rc = pthread_sigmask(SIG_BLOCK, &set, nullptr);
  LS_CHECK(rc == 0, "pthread_sigmask(SIG_BLOCK, {SIGTERM, SIGUSR1}) failed: " << std::strerror(rc));
  std::thread(wait_for_signals).detach();
}

void install_stop_signal_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = record;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int sig : {SIGTERM, SIGUSR1}) LS_CHECK_SYS(::sigaction(sig, &sa, nullptr), "sigaction " << sig);
  g_armed.store(true);
}

int stop_signal() { return g_signal.load(); }

void await_stop_signal(int timeout_ms) {
  for (int waited = 0; g_signal.load() == 0 && waited < timeout_ms; ++waited) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

}  // namespace lockstep
