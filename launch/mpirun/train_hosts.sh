#!/usr/bin/env bash
# Training over several machines with mpirun and a hostfile:
#
#   launch/mpirun/train_hosts.sh HOSTFILE NETWORK CONFIG [lockstep train options ...]
#   launch/mpirun/train_hosts.sh launch/mpirun/hostfile.example 10.0.0.0/24 configs/fashion_mnist.textproto --out runs/f
#
# Starts one rank per slot (the hostfile's total) through ssh (or $LOCKSTEP_RSH_AGENT), TCP between the hosts
# on NETWORK only. Threads per rank: the host's cores / its ranks (engine.threads to override).
set -euo pipefail
if [ $# -lt 3 ]; then echo "usage: $0 HOSTFILE NETWORK CONFIG [lockstep train options]" >&2; exit 2; fi
HOSTFILE=$1 NETWORK=$2
shift 2
LOCKSTEP=${LOCKSTEP:-$(cd "$(dirname "$0")/../.." && pwd)/build/lockstep}
ranks=$(awk '!/^#/ && NF { n = 1; for (i = 2; i <= NF; i++) if ($i ~ /^slots=/) { split($i, a, "="); n = a[2] } s += n } END { print s }' "$HOSTFILE")
extra=()
if [ -n "${LOCKSTEP_RSH_AGENT:-}" ]; then extra+=(--mca plm_rsh_agent "$LOCKSTEP_RSH_AGENT"); fi
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
exec mpirun --hostfile "$HOSTFILE" -n "$ranks" --mca btl tcp,self --mca btl_tcp_if_include "$NETWORK" \
  --mca oob_tcp_if_include "$NETWORK" "${extra[@]}" "$LOCKSTEP" train "$@"
