// Stop signals of batch systems: SIGTERM (SLURM before it kills or requeues a job, `kill`) and SIGUSR1
// (`sbatch --signal=USR1@60`, forwarded by Open MPI's mpirun).
//
// Contract: install_stop_signal_handlers() makes both signals set a flag instead of ending the process;
// stop_signal() returns the first such signal received since installation (0: none). The handler only
// stores to a lock-free atomic (async-signal-safe). No torch.
#pragma once

namespace lockstep {

void install_stop_signal_handlers();
int stop_signal();

}  // namespace lockstep
