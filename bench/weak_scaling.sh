#!/usr/bin/env bash
# Weak scaling on one machine: 2 ranks with one thread each (global batch 2B) against 1 rank with one thread
# (batch B), alternating A B A B over several rounds; prints the median steady-state samples/s of each and the
# efficiency sps(2 ranks) / (2 x sps(1 rank)), for three ways of combining the ranks' gradients: the sharded
# optimizer step (engine.shard_optimizer), the shared-memory all-reduce with a whole step on every rank (the
# default on one machine), and MPI_Iallreduce. Each round also runs two independent single-rank processes at once,
# one pinned to each of the first two cores: their summed samples/s over 2 x sps(1 rank) is the ceiling that this
# machine's shared caches, memory and neighbours leave for the ratio. A benchmark, not a test: it measures and
# prints, never fails.
# Usage: bench/weak_scaling.sh [ROUNDS] [TICKS]   (builds first; writes bench/results/weak_scaling.md)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
TICKS=${2:-1500}
launch/build.sh >/dev/null
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

REPORT=bench/results/weak_scaling.md
mkdir -p bench/results
{
  echo "Weak scaling, $(date -u +%Y-%m-%d), $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p')), $ROUNDS rounds of $TICKS ticks;"
  echo "each round runs 1 rank, then 2 ranks with the sharded optimizer step, 2 ranks summing in shared memory with a"
  echo "whole step on each (the default), 2 ranks over MPI_Iallreduce, then 2 independent 1-rank processes pinned to a core each"
  echo "(the machine's ceiling for the ratio); medians over rounds"
  echo
  echo "| model | batch per rank | 1 rank samples/s | 2 ranks, sharded step: samples/s | efficiency | 2 ranks, shared-memory all-reduce: samples/s | efficiency | 2 ranks, MPI: samples/s | efficiency | 2 independent processes: ceiling |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
} > "$REPORT"

# efficiency per round (the runs of a round are back to back: this machine's speed drifts over minutes)
for model in "default 256x3:" "narrow 64x3:--set model.mlp.width=64"; do
  label=${model%%:*}
  extra=${model#*:}
  one=(); shard=(); shm=(); mpi=(); eshard=(); eshm=(); empi=(); eind=()
  for round in $(seq "$ROUNDS"); do
    # shellcheck disable=SC2086
    a=$(run one 1 512 $extra)
    # shellcheck disable=SC2086
    s=$(run shard 2 1024 $extra --set engine.shm_allreduce=true --set engine.shard_optimizer=true)
    # shellcheck disable=SC2086
    b=$(run shm 2 1024 $extra --set engine.shm_allreduce=true --set engine.shard_optimizer=false)
    # shellcheck disable=SC2086
    c=$(run mpi 2 1024 $extra --set engine.shm_allreduce=false)
    # shellcheck disable=SC2086
    d=$(pair $extra)
    one+=("$a"); shard+=("$s"); shm+=("$b"); mpi+=("$c"); eind+=("$(python3 -c "print(100 * $d / (2 * $a))")")
    eshard+=("$(python3 -c "print(100 * $s / (2 * $a))")"); eshm+=("$(python3 -c "print(100 * $b / (2 * $a))")"); empi+=("$(python3 -c "print(100 * $c / (2 * $a))")")
  done
  printf '| %s | 512 | %.0f | %.0f | %.1f%% | %.0f | %.1f%% | %.0f | %.1f%% | %.1f%% |\n' "$label" "$(median "${one[@]}")" \
    "$(median "${shard[@]}")" "$(median "${eshard[@]}")" "$(median "${shm[@]}")" "$(median "${eshm[@]}")" "$(median "${mpi[@]}")" "$(median "${empi[@]}")" "$(median "${eind[@]}")" >> "$REPORT"
done
cat "$REPORT"
