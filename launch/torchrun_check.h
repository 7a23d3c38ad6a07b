// Lockstep started by torchrun (or accelerate launch, which runs torchrun): refused, with the equivalent command lines.
//
// Contract: torchrun_refusal() returns "" unless the environment has torchrun's variables (TORCHELASTIC_RUN_ID, or
// RANK, WORLD_SIZE and MASTER_ADDR together) with WORLD_SIZE above 1 and no MPI launcher's (mpi_session.h,
// launched_by_mpi()): then the message for the user, naming what was found and giving the mpirun and srun lines that
// start the same job as one MPI world (torchrun would start WORLD_SIZE independent one-rank runs). A torchrun
// world of one is one rank, and runs. No torch.
#pragma once

#include <string>

namespace lockstep {

std::string torchrun_refusal(int argc, char** argv);

}  // namespace lockstep
