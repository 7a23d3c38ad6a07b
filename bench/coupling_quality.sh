#!/usr/bin/env bash
# Why the coupling matters, measured: three models trained alike but for train.coupling -- independent pairs,
# minibatch OT over the whole global batch, and minibatch OT within each rank's slice (on PER_RANK ranks, as
# libraries that couple per device do) -- then sample quality against NFE (Euler, 1 to 16 steps) and the straightness of each
# model's sampling ODE (`lockstep eval --sweep --straightness`). Not a test: it trains, measures and prints.
# Usage: bench/coupling_quality.sh checkerboard|fashion [OUT_DIR]
#   checkerboard: configs/checkerboard.textproto (10,000 ticks of 512), energy distance of 2,000 samples; per-rank
#     OT on PER_RANK="4 16" ranks (slices of 128 and 32);
#   fashion: configs/fashion_mnist.textproto made unconditional (TICKS ticks of 128, default 600), Fréchet distance of
#     500 samples in a classifier's features (CLASSIFIER=run, else one is trained first, about 10 minutes); per-rank
#     OT on PER_RANK="4" ranks (slices of 32).
# Models already trained in OUT_DIR are kept, so a second call only evaluates (or adds what is missing).
# Writes OUT_DIR/quality.{json,md,sweep.png} and bench/results/coupling_quality_<case>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
CASE=${1:?usage: bench/coupling_quality.sh checkerboard|fashion [OUT_DIR]}
OUT=${2:-runs/coupling-$CASE}
launch/build.sh lockstep >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1} OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
case "$CASE" in
  checkerboard)
    CONFIG=configs/checkerboard.textproto
    SETS=(--set train.eval_every=0)
    EVAL=(--num 2000 --steps 100)
    PER_RANK=${PER_RANK:-4 16}
    ;;
  fashion)
    CONFIG=configs/fashion_mnist.textproto
    TICKS=${TICKS:-600}
    SETS=(--set model.class_conditional=false --set train.label_dropout=0 --set sample.guidance=1 --set train.steps="$TICKS"
          --set train.eval_every=0 --set sample.num=64)
    CLASSIFIER=${CLASSIFIER:-}
    if [ -z "$CLASSIFIER" ]; then
      CLASSIFIER="$OUT/classifier"
      [ -d "$CLASSIFIER/checkpoints" ] || build/lockstep train configs/fashion_mnist_classifier.textproto --out "$CLASSIFIER"
    fi
    EVAL=(--num 500 --steps 32 --classifier "$CLASSIFIER")
    PER_RANK=${PER_RANK:-4}
    ;;
  *) echo "unknown case '$CASE': checkerboard or fashion" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
train() {  # name, then extra arguments of `lockstep train`; LAUNCH: the launcher (mpirun ...), if any
  local name=$1; shift
  # samples.npy is written when a run ends: an interrupted run is trained again
  if [ -f "$OUT/$name/samples.npy" ]; then echo "$OUT/$name: already trained"; return; fi
  local t0=$SECONDS
  ${LAUNCH:-} build/lockstep train "$CONFIG" --out "$OUT/$name" "${SETS[@]}" "$@" > "$OUT/$name.log" 2>&1
  echo "$OUT/$name: trained in $((SECONDS - t0)) s"
}
train independent
train ot-global --set train.coupling.kind=OT_EXACT
BASELINES=(--baseline "independent=$OUT/independent")
for R in $PER_RANK; do
  LAUNCH="mpirun --oversubscribe -n $R" train "ot-per-rank-$R" --set train.coupling.kind=OT_EXACT \
    --set train.coupling.per_rank=true --set engine.threads=1
  BASELINES+=(--baseline "OT per rank, $R ranks=$OUT/ot-per-rank-$R")
done
t0=$SECONDS
build/lockstep eval "$OUT/ot-global" --label "OT global" "${BASELINES[@]}" --sweep --sweep-samplers euler --sweep-max-nfe 16 --straightness \
  "${EVAL[@]}" --report "$OUT/quality.json" > "$OUT/eval.log" 2>&1
echo "evaluated in $((SECONDS - t0)) s"
REPORT=bench/results/coupling_quality_$CASE.md
mkdir -p bench/results
{
  echo "Coupling and sample quality, $CASE, $(date -u +%Y-%m-%d), $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p'))."
  echo "Models alike but for train.coupling (exact OT); per rank = OT within each rank's slice. Euler sampler."
  echo
  python3 - "$OUT/quality.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
key = "frechet_distance" if any("frechet_distance" in p for p in r["sweep"]) else "energy_distance"
nfes = sorted({int(p["nfe"]) for p in r["sweep"]})
print(f"| coupling | straightness S | curved fraction | " + " | ".join(f"{key.replace('_', ' ')}, {n} NFE" for n in nfes) + " |")
print("| --- " * (3 + len(nfes)) + "|")
for st in r["straightness"]:
    pts = {int(p["nfe"]): p[key] for p in r["sweep"] if p["model"] == st["model"]}
    print(f"| {st['model']} | {st['straightness']:.4g} | {st['curved_fraction']:.3g} | " + " | ".join(f"{pts[n]:.4g}" for n in nfes) + " |")
PY
  echo
  echo "The whole report:"
  echo
  cat "$OUT/quality.md"
} > "$REPORT"
cat "$REPORT"
