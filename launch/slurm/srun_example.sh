#!/usr/bin/env bash
# Interactive use inside an allocation (salloc) or as a one-off job step:
#
#   salloc --nodes=2 --ntasks-per-node=4 --cpus-per-task=4
#   launch/slurm/srun_example.sh configs/fashion_mnist.textproto --out runs/fashion-srun
#
# srun starts one rank per task; Debian's Open MPI needs the PMIx plugin (--mpi=pmix; pmi2 and none fail).
set -euo pipefail
LOCKSTEP=${LOCKSTEP:-build/lockstep}
exec srun --mpi=pmix --kill-on-bad-exit=1 "$LOCKSTEP" train "$@"
