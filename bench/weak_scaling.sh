#!/usr/bin/env bash
# Weak scaling on one machine: 2 ranks with one thread each (global batch 2B) against 1 rank with one thread
# (batch B), alternating A B A B over several rounds; prints the median steady-state samples/s of each and the
# efficiency sps(2 ranks) / (2 x sps(1 rank)), for three variants: the shm backend (gradients summed in shared
# memory, the default on one machine), the same with engine.balance AUTO (the split follows each rank's measured
# speed), and the mpi backend (MPI_Iallreduce).
# Each round also runs two independent single-rank processes at once, one pinned to each of the first two cores:
# their summed samples/s over 2 x sps(1 rank) is the ceiling that this machine's shared caches, memory and
# neighbours leave for the ratio. A benchmark, not a test: it measures and prints, never fails.
# Usage: bench/weak_scaling.sh [ROUNDS] [TICKS]   (builds first; writes bench/results/weak_scaling.md)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
TICKS=${2:-1500}
launch/build.sh lockstep >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
BIN=build/lockstep
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# median samples/s of the logged windows after the first 20% of the run
sps() { python3 - "$1" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
rows = [r for r in rows if "samples_per_s" in r]
rows = rows[max(1, len(rows) // 5):]
print(statistics.median(r["samples_per_s"] for r in rows))
PY
}

train_args() {  # batch extra...: the training command of every run, into ARGS
  local batch=$1; shift
  ARGS=(train --steps "$TICKS" --set engine.threads=1 --set train.batch_size="$batch" --set train.log_every=50
        --set train.eval_every=0 --set sample.num=10 "$@")
}

run() {  # name ranks batch extra...
  local name=$1 ranks=$2 batch=$3; shift 3
  local out="$WORK/$name-$RANDOM"
  train_args "$batch" "$@"
  local args=("${ARGS[@]}" --out "$out")
  if [ "$ranks" -eq 1 ]; then "$BIN" "${args[@]}" >/dev/null 2>&1; else mpirun --oversubscribe -n "$ranks" "$BIN" "${args[@]}" >/dev/null 2>&1; fi
  sps "$out"
}

pair() {  # extra...: two 1-rank runs at once, pinned to cores 0 and 1; their summed samples/s
  local a="$WORK/pair-a-$RANDOM" b="$WORK/pair-b-$RANDOM"
  train_args 512 "$@"
  taskset -c 0 "$BIN" "${ARGS[@]}" --out "$a" >/dev/null 2>&1 &
  taskset -c 1 "$BIN" "${ARGS[@]}" --out "$b" >/dev/null 2>&1
  wait
  python3 -c "print($(sps "$a") + $(sps "$b"))"
}

median() { python3 -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

# the 2-rank variants: column title, then the settings
VARIANTS=("shared-memory all-reduce (default)|--set engine.shm_allreduce=true"
          "shared memory, AUTO balance|--set engine.shm_allreduce=true --set engine.balance=AUTO"
          "MPI_Iallreduce|--set engine.shm_allreduce=false")

REPORT=bench/results/weak_scaling.md
mkdir -p bench/results
{
  echo "Weak scaling, $(date -u +%Y-%m-%d), $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p')), $ROUNDS rounds of $TICKS ticks;"
  echo "each round runs 1 rank, then each 2-rank variant, then 2 independent 1-rank processes pinned to a core each"
  echo "(the machine's ceiling for the ratio); efficiency = samples/s of 2 ranks / (2 x samples/s of 1 rank), per round,"
  echo "then medians over rounds"
  echo
  header="| model | batch per rank | 1 rank samples/s |"
  rule="| --- | --- | --- |"
  for v in "${VARIANTS[@]}"; do header+=" 2 ranks, ${v%%|*}: samples/s | efficiency |"; rule+=" --- | --- |"; done
  echo "$header 2 independent processes: ceiling |"
  echo "$rule --- |"
} > "$REPORT"

# efficiency per round (the runs of a round are back to back: this machine's speed drifts over minutes)
for model in "default 256x3:" "narrow 64x3:--set model.mlp.width=64"; do
  label=${model%%:*}
  extra=${model#*:}
  one=(); ceiling=()
  speed=(); efficiency=()  # per variant: its samples/s and efficiencies of the rounds, space-separated
  for round in $(seq "$ROUNDS"); do
    # shellcheck disable=SC2086
    a=$(run one 1 512 $extra)
    one+=("$a")
    for i in "${!VARIANTS[@]}"; do
      # shellcheck disable=SC2086
      b=$(run "v$i" 2 1024 $extra ${VARIANTS[$i]#*|})
      speed[$i]+=" $b"
      efficiency[$i]+=" $(python3 -c "print(100 * $b / (2 * $a))")"
    done
    # shellcheck disable=SC2086
    d=$(pair $extra)
    ceiling+=("$(python3 -c "print(100 * $d / (2 * $a))")")
  done
  row=$(printf '| %s | 512 | %.0f |' "$label" "$(median "${one[@]}")")
  for i in "${!VARIANTS[@]}"; do
    # shellcheck disable=SC2086
    row+=$(printf ' %.0f | %.1f%% |' "$(median ${speed[$i]})" "$(median ${efficiency[$i]})")
  done
  row+=$(printf ' %.1f%% |' "$(median "${ceiling[@]}")")
  echo "$row" >> "$REPORT"
done
cat "$REPORT"
