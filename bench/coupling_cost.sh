#!/usr/bin/env bash
# The cost of the global-batch coupling (train.coupling) against the training step: for global batches of 256 to
# 4096 on the default checkerboard model (one process, this machine's threads), the median per-tick time of the
# data phase (drawing all B pairs and solving the coupling, done redundantly by every rank) and of the whole tick,
# for INDEPENDENT, OT_EXACT and OT_SINKHORN. A benchmark, not a test: it measures and prints, never fails.
# Usage: bench/coupling_cost.sh [TICKS]   (builds first; writes bench/results/coupling_cost.md)
set -euo pipefail
cd "$(dirname "$0")/.."
TICKS=${1:-12}
launch/build.sh lockstep >/dev/null
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
median_of() {  # run key: the median of a per-rank timing list over the logged ticks after the first two
  python3 - "$1" "$2" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
rows = [r for r in rows if sys.argv[2] in r][2:]
print(statistics.median(r[sys.argv[2]][0] for r in rows) * 1000)
PY
}
REPORT=bench/results/coupling_cost.md
mkdir -p bench/results
{
  echo "Coupling cost per tick, $(date -u +%Y-%m-%d), $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p')); default 256x3 MLP on the"
  echo "checkerboard, one process; data = drawing the B pairs and solving the coupling; milliseconds, medians of $TICKS ticks"
  echo
  echo "| global batch B | coupling | data ms | tick ms | coupling share of the tick |"
  echo "| --- | --- | --- | --- | --- |"
} > "$REPORT"
for B in 256 512 1024 2048 4096; do
  for kind in INDEPENDENT OT_SINKHORN OT_EXACT; do
    ticks=$TICKS
    # the exact solver is O(B^3): a few ticks suffice where one takes seconds
    if [ "$kind" != INDEPENDENT ] && [ "$B" -ge 2048 ]; then ticks=4; fi
    out="$WORK/$B-$kind"
    build/lockstep train --steps "$ticks" --out "$out" --set train.batch_size="$B" --set train.coupling.kind="$kind" \
      --set train.log_every=1 --set train.eval_every=0 --set sample.num=10 --set sample.steps=2 >/dev/null 2>&1
    data=$(median_of "$out" time_data_s); total=$(median_of "$out" time_total_s)
    printf '| %d | %s | %.1f | %.1f | %s |\n' "$B" "$kind" "$data" "$total" \
      "$(python3 -c "print(f'{$data / $total * 100:.0f}%')")" >> "$REPORT"
  done
done
cat "$REPORT"
