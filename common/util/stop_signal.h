// Stop signals of batch systems: SIGTERM (SLURM before it kills or requeues a job, `kill`) and SIGUSR1
// (`sbatch --signal=USR1@60`, forwarded by Open MPI's mpirun).
//
// Contract: start_stop_signal_thread(), called first in main() before any other thread exists, blocks both
// signals in the calling thread (and so in every thread created after it) and receives them in a thread of its
// own with sigwait(). No compute thread is ever interrupted by them (a handler on a computing thread corrupted the
// heap inside oneDNN's JIT-compiled SGEMM: bench/results/history.md, 2026-11-23).
// Until install_stop_signal_handlers() is called, a received signal ends the process as its default action
// would (exit by signal). After it, both signals only set a flag: stop_signal() returns the first one received
// since installation (0: none). install_stop_signal_handlers() also installs an async-signal-safe handler that sets
// the flag, for processes that never started the thread (the in-process tests) and threads that do not block the
// signals. No torch.
#pragma once

namespace lockstep {

void start_stop_signal_thread();
void install_stop_signal_handlers();
int stop_signal();
// Waits until stop_signal() is non-zero, at most timeout_ms (fault injection: a signal the process sends itself
// reaches the waiting thread a moment later).
void await_stop_signal(int timeout_ms);

}  // namespace lockstep
