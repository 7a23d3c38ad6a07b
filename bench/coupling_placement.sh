#!/usr/bin/env bash
# Where the global-batch coupling should be solved, measured: every rank solving the same problem redundantly
# (train.coupling.solve_on EVERY_RANK, the default) against rank 0 solving and broadcasting the pairs (COORDINATOR).
# For OT_EXACT at global batches of 512 to 2048 on the default MLP: the data phase (drawing all B pairs and solving,
# and for COORDINATOR the broadcast, which the other rank spends waiting) of one rank alone and on 2 ranks (one
# thread each) in both placements, and for scale an MPI_Bcast of B int64 on 2 ranks (mpi4py, median of 2,000).
# A benchmark: it measures and prints, and stops (showing its log) only when a run itself fails.
# Usage: bench/coupling_placement.sh [TICKS]   (writes bench/results/coupling_placement.md)
set -euo pipefail
cd "$(dirname "$0")/.."
TICKS=${1:-8}
launch/build.sh lockstep >/dev/null
PY=/usr/bin/python3
if ! $PY -c 'import mpi4py, numpy' 2> /dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends python3-mpi4py python3-numpy > /dev/null
fi
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
median_ms() {  # run key: the median over ranks and logged ticks (ticks 3 and later) of a per-rank timing list
  $PY - "$1" "$2" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
rows = [r for r in rows if sys.argv[2] in r][2:]
print(f"{statistics.median(v for r in rows for v in r[sys.argv[2]]) * 1000:.2f}")
PY
}
bcast_us() {  # B: the median time of broadcasting B int64 from rank 0 to 2 ranks
  mpirun --oversubscribe -n 2 $PY -c "
import sys, time, numpy as np
from mpi4py import MPI
c = MPI.COMM_WORLD; b = np.arange($1, dtype=np.int64); ts = []
for i in range(2200):
    c.Barrier(); t = time.perf_counter(); c.Bcast(b, root=0); ts.append(time.perf_counter() - t)
if c.rank == 1: print(f'{np.median(ts[200:]) * 1e6:.1f}')
"
}
REPORT=bench/results/coupling_placement.md
mkdir -p bench/results
{
  echo "Coupling placement, $(date -u +%Y-%m-%d), $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p')); OT_EXACT on the default MLP,"
  echo "one thread per rank; the data phase (all B pairs drawn and the assignment solved), median of ticks 3 to $TICKS"
  echo
  echo "| global batch B | 1 rank alone | 2 ranks, every rank solves | 2 ranks, rank 0 solves and broadcasts | MPI_Bcast of B int64 | every rank / rank 0 |"
  echo "| --- | --- | --- | --- | --- | --- |"
} > "$REPORT"
COMMON=(--set train.coupling.kind=OT_EXACT --set train.log_every=1 --set train.eval_every=0 --set sample.num=10 --set sample.steps=2
        --set engine.threads=1)
run() {  # name, then the command: its output goes to a log, shown if it fails
  local name=$1; shift
  if ! "$@" --out "$WORK/$name" > "$WORK/$name.log" 2>&1; then
    echo "bench/coupling_placement.sh: the run $name failed:" >&2; tail -20 "$WORK/$name.log" >&2; exit 1
  fi
}
for B in 512 1024 2048; do
  run "one-$B" build/lockstep train --steps "$TICKS" --set train.batch_size="$B" "${COMMON[@]}"
  run "two-$B" mpirun --oversubscribe -n 2 build/lockstep train --steps "$TICKS" --set train.batch_size="$B" "${COMMON[@]}"
  run "coord-$B" mpirun --oversubscribe -n 2 build/lockstep train --steps "$TICKS" --set train.batch_size="$B" "${COMMON[@]}" \
    --set train.coupling.solve_on=COORDINATOR
  one=$(median_ms "$WORK/one-$B" time_data_s); two=$(median_ms "$WORK/two-$B" time_data_s); coord=$(median_ms "$WORK/coord-$B" time_data_s)
  bc=$(bcast_us "$B")
  printf '| %d | %s ms | %s ms | %s ms | %s us | %s |\n' "$B" "$one" "$two" "$coord" "$bc" "$($PY -c "print(f'{$two / $coord:.3f}')")" >> "$REPORT"
done
cat "$REPORT"
