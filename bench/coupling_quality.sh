#!/usr/bin/env bash
# Why the coupling matters, measured: three models trained alike but for train.coupling -- independent pairs,
# minibatch OT over the whole global batch, and minibatch OT within each rank's slice (4 ranks, as libraries that
# couple per device do) -- then sample quality against NFE (Euler, 1 to 16 steps) and the straightness of each
# model's sampling ODE (`lockstep eval --sweep --straightness`). Not a test: it trains, measures and prints.
# Usage: bench/coupling_quality.sh checkerboard|fashion [OUT_DIR]
#   checkerboard: configs/checkerboard.textproto (10,000 ticks of 512), energy distance of 2,000 samples;
#   fashion: configs/fashion_mnist.textproto made unconditional (TICKS ticks of 128, default 600), Fréchet distance of
#     500 samples in a classifier's features (CLASSIFIER=run, else one is trained first, about 10 minutes).
# Writes OUT_DIR/quality.{json,md,sweep.png} and bench/results/coupling_quality_<case>.md.
set -euo pipefail
cd "$(dirname "$0")/.."
CASE=${1:?usage: bench/coupling_quality.sh checkerboard|fashion [OUT_DIR]}
OUT=${2:-runs/coupling-$CASE}
launch/build.sh >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1} OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
RANKS=4
case "$CASE" in
  checkerboard)
    CONFIG=configs/checkerboard.textproto
    SETS=(--set train.eval_every=0)
    EVAL=(--num 2000 --steps 100)
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
    ;;
  *) echo "unknown case '$CASE': checkerboard or fashion" >&2; exit 2 ;;
esac
mkdir -p "$OUT"
train() {  # name, then extra arguments of `lockstep train`; LAUNCH: the launcher (mpirun ...), if any
  local name=$1; shift
  if [ -d "$OUT/$name/checkpoints" ]; then echo "$OUT/$name: already trained"; return; fi
  local t0=$SECONDS
  ${LAUNCH:-} build/lockstep train "$CONFIG" --out "$OUT/$name" "${SETS[@]}" "$@" > "$OUT/$name.log" 2>&1
  echo "$OUT/$name: trained in $((SECONDS - t0)) s"
}
train independent
train ot-global --set train.coupling.kind=OT_EXACT
LAUNCH="mpirun --oversubscribe -n $RANKS" train ot-per-rank --set train.coupling.kind=OT_EXACT \
  --set train.coupling.per_rank=true --set engine.threads=1
t0=$SECONDS
build/lockstep eval "$OUT/ot-global" --label "OT global" --baseline "independent=$OUT/independent" \
  --baseline "OT per rank=$OUT/ot-per-rank" --sweep --sweep-samplers euler --sweep-max-nfe 16 --straightness \
  "${EVAL[@]}" --report "$OUT/quality.json" > "$OUT/eval.log" 2>&1
echo "evaluated in $((SECONDS - t0)) s"
REPORT=bench/results/coupling_quality_$CASE.md
mkdir -p bench/results
{
  echo "Coupling and sample quality, $CASE, $(date -u +%Y-%m-%d), $(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p'))."
  echo "Models alike but for train.coupling; per rank = OT within each of $RANKS ranks' slices. Euler sampler."
  echo
  cat "$OUT/quality.md"
} > "$REPORT"
cat "$REPORT"
