#!/usr/bin/env bash
# Issue 31's one-call GPU check, for a lent GPU machine (an NVIDIA H200 with PyTorch 2.11+cu130 as `python3`, CUDA 13
# under /usr/local/cuda, CMake and ninja, no package registry): builds Lockstep against that PyTorch's LibTorch,
# runs the CUDA and NCCL tests, and benchmarks Lockstep against PyTorch on the same GPU, in about 8 minutes. A
# machine without an NVIDIA GPU gets one line and exit 0.
#
#   bench/gpu_deps.sh                 # here, on Debian 12, first: the Debian build dependencies into .gpu_deps/
#   bench/gpu_check.sh                # there, from the repository root (the device tool: carry [".gpu_deps"])
#
# Stages (each prints its start time since the script began; a failed stage does not stop the independent ones after
# it, and the exit code is 1 when the build or the tests failed, 0 otherwise; benchmarks never fail it):
#  (a) no nvidia-smi, or `python3 -c 'import torch; assert torch.cuda.is_available()'` fails: nothing to check.
#  (b) sources .gpu_deps/env.sh (Open MPI, protobuf, Catch2, CLI11, nlohmann-json, cairo, stb, libwebp, pkg-config
#      from Debian 12, relocated: bench/gpu_deps.sh); configures build-gpu/ (Ninja, Release) against
#      torch.utils.cmake_prefix_path and that prefix, CUDA from /usr/local/cuda, NCCL from the nvidia-nccl wheel
#      PyTorch loads (NCCL_INCLUDE_DIR, NCCL_LIBRARY), -rpath-link to the wheels' library folders; builds lockstep
#      and lockstep_tests on every core, timed.
#  (c) build-gpu/lockstep_tests "[cuda],[nccl]" (Catch2 v2: either tag), as root with Open MPI's root variables.
#  (d) NCCL all-reduce bus bandwidth (bench/nccl_busbw.py; with one GPU it says that it needs two), then
#      Lockstep against PyTorch, one process at a time, each case Lockstep first, then PyTorch, one round:
#        U-Net   configs/fashion_mnist.textproto's model (1.06 M parameters) on random Fashion-MNIST-shaped images
#                packed by `lockstep data pack`, B 128 and 512, fp32 / bf16_mixed / fp16_mixed, and each with
#                engine.cuda_graphs (PyTorch: bench/pytorch_unet.py, --graphs 1 captures forward and backward)
#        DiT-B/2 32x32x3, 10 classes (129.5 M parameters), B 128 and 512 (512 as 2 micro-batches of 256 on both
#                sides), fp32 / bf16 / fp16 (PyTorch: bench/pytorch_dit.py --size B)
#        sampling images/s: `lockstep sample --device cuda` against the scripts' sample modes (float32 both)
#      Training speed as bench/vs_pytorch.sh takes it from a run's metrics.jsonl: samples_per_s logged every tick
#      (train.log_every 1), the median of the last 20 of 30 ticks (DiT: of the last 8 of 12); PyTorch the median of
#      the same ticks' times (--window). The cases run most informative first; once a case would end after
#      GPU_CHECK_BENCH_UNTIL seconds (450) the rest are skipped, and the table says so.
#  (e) with 2 or more GPUs: 1 rank against 2 ranks on the nccl backend (the losses of 20 ticks within 1e-4), and the
#      lockstep_tests cases tagged [gpus2] when there are any.
#  (f) bench/results/gpu.md (bench/gpu_table.py): GPU, PyTorch, date, build time, tests, the table; rewritten after
#      every case and copied with the logs (gpu_check-logs.tar.gz) to $OUT when it is set. The table is printed last.
#
# Environment: GPU_CHECK_BENCH_UNTIL (450) and GPU_CHECK_END (470, every command is cut off by then), seconds since
# the start; GPU_CHECK_BUILD (build-gpu); PYTHON (python3).
set -euo pipefail
cd "$(dirname "$0")/.."
T0=$(date +%s)
PY=${PYTHON:-python3}
BUILD=${GPU_CHECK_BUILD:-build-gpu}
BENCH_UNTIL=${GPU_CHECK_BENCH_UNTIL:-450}
END=${GPU_CHECK_END:-470}
REPORT=bench/results/gpu.md

el() { echo $(($(date +%s) - T0)); }
say() { echo "gpu_check [$(el) s]: $*"; }
cap() { local w=$1 l=$((END - $(date +%s) + T0)); ((l < w)) && w=$l; ((w < 5)) && w=5; echo "$w"; }  # a timeout: $1, never past END
iff() { if [ "$1" = "$2" ]; then printf '%s' "$3"; else printf '%s' "${4:-}"; fi; }  # $3 when $1 = $2, else $4 (never fails)

# --- (a) is there a GPU? ---------------------------------------------------------------------------------------------
if ! command -v nvidia-smi > /dev/null 2>&1 || ! nvidia-smi -L > /dev/null 2>&1 ||
  ! "$PY" -c 'import torch; assert torch.cuda.is_available()' > /dev/null 2>&1; then
  echo "gpu_check: no NVIDIA GPU here: nothing to check"
  exit 0
fi

WORK=$(mktemp -d /tmp/gpu_check.XXXXXX)
LOGS=$WORK/logs
mkdir -p "$LOGS" "$WORK/runs" bench/results
ROWS=$WORK/rows.jsonl
: > "$ROWS"
exec > >(tee "$LOGS/gpu_check.log") 2>&1
TEE_PID=$!
export PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=PASSIVE
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
declare -A META=()
NCCL_JSON=""
publish() {  # the report, and what $OUT brings back: gpu.md, rows.jsonl, the logs
  local args=() k
  for k in "${!META[@]}"; do args+=(--meta "$k=${META[$k]}"); done
  "$PY" bench/gpu_table.py "$ROWS" "$REPORT" "${args[@]}" ${NCCL_JSON:+--nccl "$NCCL_JSON"} > /dev/null 2>&1 || true
  if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then
    cp "$REPORT" "$OUT/gpu.md" 2>/dev/null || true
    cp "$ROWS" "$OUT/rows.jsonl" 2>/dev/null || true
    tar -czf "$OUT/gpu_check-logs.tar.gz" -C "$WORK" logs 2>/dev/null || true
  fi
}
row() {  # case lockstep pytorch unit lockstep-MiB pytorch-MiB note (a number may be empty or "-")
  "$PY" - "$@" >> "$ROWS" <<'PY'
import json, sys
c, ls, pt, unit, lm, pm, note = (sys.argv[1:] + [""] * 7)[:7]
def f(v):
    try:
        return float(v)
    except ValueError:
        return None
print(json.dumps({"case": c, "lockstep": f(ls), "pytorch": f(pt), "unit": unit, "ls_mib": f(lm), "pt_mib": f(pm), "note": note}))
PY
}

say "(a) GPU: $(nvidia-smi -L | paste -sd ';')"
# one look at PyTorch (each import takes seconds): GPUs, versions, its CMake prefix; NCCL: the library PyTorch itself
# loads (the nvidia-nccl wheel) and its header beside it; -rpath-link: the wheels' library folders, where
# libtorch_cuda's own dependencies (cuDNN, cuBLAS, ...) lie, for the linker
PROBE=$("$PY" - <<'PY'
import glob, os, re
import torch
lib = ""
with open("/proc/self/maps") as f:
    for line in f:
        p = line.split()[-1] if line.split() else ""
        if "/libnccl.so" in p:
            lib = p
            break
roots = []
try:
    import nvidia
    roots += list(nvidia.__path__)
except ImportError:
    pass
tlib = os.path.join(os.path.dirname(torch.__file__), "lib")
roots += [os.path.dirname(torch.__file__), "/usr/local/cuda"]
def find(pattern):
    for r in roots:
        c = sorted(glob.glob(os.path.join(r, "**", pattern), recursive=True))
        if c:
            return c[0]
    return ""
lib = lib or find("libnccl.so*")
inc = ""
if lib and os.path.exists(os.path.join(os.path.dirname(os.path.dirname(lib)), "include", "nccl.h")):
    inc = os.path.join(os.path.dirname(os.path.dirname(lib)), "include")
inc = inc or os.path.dirname(find("nccl.h"))
hv = "?"
if inc:
    t = open(os.path.join(inc, "nccl.h")).read()
    hv = ".".join(m.group(1) if m else "?" for m in (re.search(r"#define NCCL_%s\s+(\d+)" % k, t) for k in ("MAJOR", "MINOR", "PATCH")))
n = torch.cuda.nccl.version()
tv = ".".join(map(str, n)) if isinstance(n, tuple) else str(n)
dirs = [tlib] + ([os.path.dirname(lib)] if lib else [])
for r in roots[:-2]:
    dirs += glob.glob(os.path.join(r, "*", "lib"))
dirs = [d for i, d in enumerate(dirs) if os.path.isdir(d) and d not in dirs[:i]]
import sys
ver = f"{torch.__version__} (CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}, NCCL {tv}), {sys.executable}"
print("\t".join([str(torch.cuda.device_count()), ver, torch.utils.cmake_prefix_path, inc or "-", lib or "-",
                 f"nccl.h {hv}, PyTorch's NCCL {tv}", ":".join(dirs) or "-"]))
PY
) || PROBE=$'1\tunknown (the probe failed)\t-\t-\t-\t-\t-'
IFS=$'\t' read -r NGPU TORCH_VER TORCH_CMAKE NCCL_INC NCCL_LIB NCCL_NOTE RPATH_LINK <<< "$PROBE"
META[gpu]="$(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader | sort | uniq -c | sed 's/^ *\([0-9]*\) /\1 x /' | paste -sd ';')"
META[driver]="$(nvidia-smi --query-gpu=driver_version --format=csv,noheader | head -n 1)"
META[torch]=$TORCH_VER
META[date]="$(date -u '+%Y-%m-%d %H:%M UTC')"
META[host]="$(nproc) cores ($(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)), kernel $(uname -r)"
META[method]="one round, Lockstep first then PyTorch, one process at a time; training: samples/s, median of the last 20 of 30 ticks (DiT: last 8 of 12), from metrics.jsonl (Lockstep) and per-tick wall times after the tick's loss and gradient norm were read (PyTorch); each library's float32 defaults (TF32 for cuDNN convolutions, not for matrix products); sampling: float32, the sampling call's own seconds, first-call set-up included on both sides"
say "    ${META[gpu]}; driver ${META[driver]}; PyTorch ${META[torch]}"
publish

# --- (b) dependencies, configure, build ---------------------------------------------------------------------------------------
BUILD_OK=0
stage_build() {
  say "(b) build dependencies, configure and build into $BUILD/"
  if [ -f .gpu_deps/env.sh ]; then
    # shellcheck disable=SC1091
    source .gpu_deps/env.sh
    META[deps]="Debian 12 packages from .gpu_deps/ (bench/gpu_deps.sh; $(grep -cE '^[a-z0-9][a-z0-9.+-]* [0-9]' .gpu_deps/MANIFEST 2>/dev/null || echo '?') packages)"
  else
    META[deps]="no .gpu_deps/: the machine's own packages"
    say "    no .gpu_deps/env.sh: the machine's own Open MPI, protobuf, ... must be there (bench/gpu_deps.sh makes it)"
  fi
  local c
  for c in c++ nvcc cmake; do command -v "$c" > /dev/null || [ -x /usr/local/cuda/bin/$c ] || say "    warning: no $c on PATH"; done
  [ "$TORCH_CMAKE" != - ] || { say "    no torch.utils.cmake_prefix_path"; return 1; }
  say "    NCCL: $NCCL_LIB ($NCCL_NOTE), header in $NCCL_INC"
  local args=(-S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_PREFIX_PATH=$TORCH_CMAKE${GPU_DEPS_PREFIX:+;$GPU_DEPS_PREFIX}"
    -DCUDAToolkit_ROOT=/usr/local/cuda -DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc -DCMAKE_CUDA_ARCHITECTURES=90)
  command -v ninja > /dev/null && args+=(-G Ninja)
  [ "$NCCL_INC" != - ] && args+=("-DNCCL_INCLUDE_DIR=$NCCL_INC")
  [ "$NCCL_LIB" != - ] && args+=("-DNCCL_LIBRARY=$NCCL_LIB")
  [ "$RPATH_LINK" != - ] && args+=("-DCMAKE_EXE_LINKER_FLAGS=-Wl,-rpath-link,$RPATH_LINK")
  echo "cmake ${args[*]}" > "$LOGS/configure.log"
  local t=$SECONDS
  if ! timeout "$(cap 150)" cmake "${args[@]}" >> "$LOGS/configure.log" 2>&1; then
    META[configure]="FAILED after $((SECONDS - t)) s (logs/configure.log)"
    say "    configure FAILED; its last lines:"; tail -n 40 "$LOGS/configure.log"
    return 1
  fi
  META[configure]="$((SECONDS - t)) s"
  sed -n '/configuration summary/,/^-- $/p' "$LOGS/configure.log" | sed 's/^-- /    /'
  grep -iE "warning" -A3 "$LOGS/configure.log" | grep -iE "cudnn|cusparselt|kineto|nvtx|protobuf" | head -n 5 | sed 's/^/    configure: /' || true
  say "    configured in ${META[configure]}; building lockstep lockstep_tests on $(nproc) cores"
  t=$SECONDS
  local rc=0
  local budget=$((END - $(el) - 150))  # the build leaves the tests their 150 s
  ((budget > 330)) && budget=330
  timeout "$(cap $budget)" cmake --build "$BUILD" -j"$(nproc)" --target lockstep lockstep_tests > "$LOGS/build.log" 2>&1 || rc=$?
  if [ $rc -ne 0 ]; then
    META[build]="FAILED (exit $rc$(iff $rc 124 ', timed out')) after $((SECONDS - t)) s (logs/build.log)"
    say "    build FAILED (exit $rc); the first errors and the last lines:"
    grep -E "error|undefined reference" "$LOGS/build.log" | head -n 20 || true
    tail -n 15 "$LOGS/build.log"
    return 1
  fi
  META[build]="$((SECONDS - t)) s for lockstep and lockstep_tests on $(nproc) cores"
  # a LibTorch that exports protobuf's symbols would clash with Debian's libprotobuf at run time
  local n
  n=$(nm -D --defined-only "$(dirname "$TORCH_CMAKE")/../lib/libtorch_cpu.so" 2>/dev/null | grep -c 'google8protobuf' || true)
  META[protobuf_symbols]="libtorch_cpu.so exports ${n:-?} google::protobuf symbols"
  "$BUILD/lockstep" --version > "$LOGS/version.txt" 2>&1 || { say "    build-gpu/lockstep --version FAILED:"; cat "$LOGS/version.txt"; return 1; }
  sed 's/^/    /' "$LOGS/version.txt"
  say "    built in ${META[build]}"
  BUILD_OK=1
}
if stage_build; then :; fi
publish

# --- (c) the CUDA and NCCL tests ------------------------------------------------------------------------------------------------
TESTS_OK=0
stage_tests() {
  say "(c) $BUILD/lockstep_tests \"[cuda],[nccl]\""
  if [ $BUILD_OK -ne 1 ]; then META[tests]="not run: no build"; return 1; fi
  local t=$SECONDS rc=0
  (cd "$BUILD" && timeout "$(cap 150)" ./lockstep_tests "[cuda],[nccl]" --durations yes) > "$LOGS/tests.log" 2>&1 || rc=$?
  local summary skipped
  summary=$(grep -E "^All tests passed|^test cases:|^assertions:|^No tests ran" "$LOGS/tests.log" | paste -sd ' ' || true)
  skipped=$(grep -c "skipped" "$LOGS/tests.log" || true)
  grep -E "^[0-9.]+ s: " "$LOGS/tests.log" | sed 's/^/    /' || true
  META[tests]="${summary:-no summary} (exit $rc$(iff $rc 124 ', timed out'), $((SECONDS - t)) s; ${skipped:-0} lines say skipped; logs/tests.log)"
  say "    ${META[tests]}"
  if [ $rc -ne 0 ]; then tail -n 40 "$LOGS/tests.log"; return 1; fi
  TESTS_OK=1
}
if stage_tests; then :; fi
publish

# --- (d) benchmarks ---------------------------------------------------------------------------------------------------------------
say "(d) NCCL all-reduce bus bandwidth over $NGPU GPU(s)"
if timeout "$(cap 90)" "$PY" bench/nccl_busbw.py > "$LOGS/nccl_busbw.json" 2> "$LOGS/nccl_busbw.log"; then
  NCCL_JSON=$LOGS/nccl_busbw.json
  sed 's/^/    /' "$LOGS/nccl_busbw.log"
else
  say "    bench/nccl_busbw.py FAILED:"; tail -n 20 "$LOGS/nccl_busbw.log"
fi
publish

BIN=$BUILD/lockstep
LS_OK=$BUILD_OK
say "(d) benchmark data: random uint8 images, packed"
if ! "$PY" - "$WORK" > "$LOGS/data.log" 2>&1 <<'PY'; then
import sys
import numpy as np
w, rng = sys.argv[1], np.random.default_rng(0)
np.save(f"{w}/unet-x.npy", rng.integers(0, 256, (8192, 28, 28), dtype=np.uint8))  # Fashion-MNIST's shape
np.save(f"{w}/unet-y.npy", rng.integers(0, 10, 8192).astype(np.int64))
np.save(f"{w}/dit-x.npy", rng.integers(0, 256, (8192, 3, 32, 32), dtype=np.uint8))
np.save(f"{w}/dit-y.npy", rng.integers(0, 10, 8192).astype(np.int64))
PY
  say "    making the data FAILED (numpy?):"; cat "$LOGS/data.log"; LS_OK=0
fi
if [ $LS_OK -eq 1 ]; then
  for d in unet dit; do
    if ! "$BIN" data pack "$WORK/$d-x.npy" --label-file "$WORK/$d-y.npy" --out "$WORK/$d.pack" >> "$LOGS/data.log" 2>&1; then
      say "    lockstep data pack FAILED:"; tail -n 5 "$LOGS/data.log"; LS_OK=0
    fi
  done
fi
cat > "$WORK/dit.textproto" <<CFG
# DiT-B/2 on random 32x32x3 images with 10 classes, as bench/pytorch_dit.py --size B (no qk_norm)
name: "dit_gpu_bench"
data { name: "packed" path: "$WORK/dit.pack" }
model { name: "dit" class_conditional: true dit { size: "B" patch: 2 } }
optim { lr: 1e-4 }
train { steps: 12 batch_size: 128 log_every: 1 eval_every: 0 label_dropout: 0.1 }
sample { num: 10 steps: 2 }
engine { device: "cuda" }
CFG

declare -A LS_PREC=([fp32]=fp32 [bf16]=bf16_mixed [fp16]=fp16_mixed)
UNET_RUN="" DIT_RUN="" BANNER_SHOWN=""
SKIPPED=0
# Lockstep: trains; prints "samples/s peak-MiB" (the median of the last WINDOW logged ticks) or "- -"
ls_train() {  # name limit window args...
  local name=$1 lim=$2 win=$3 out=$WORK/runs/$1
  shift 3
  if [ $LS_OK -ne 1 ]; then echo "- - no build"; return; fi
  local rc=0
  timeout "$(cap "$lim")" "$BIN" train "$@" --out "$out" > "$LOGS/$name-lockstep.log" 2>&1 || rc=$?
  cp "$out/metrics.jsonl" "$LOGS/$name-metrics.jsonl" 2>/dev/null || true
  if [ $rc -ne 0 ]; then
    echo "- - Lockstep exit $rc$(iff $rc 124 ' (timed out)'): $(grep -iE 'error|refused|out of memory' "$LOGS/$name-lockstep.log" | head -n 1 | cut -c1-160 | tr '|' '/')"
    return
  fi
  "$PY" - "$out/metrics.jsonl" "$win" <<'PY' || echo "- - no samples_per_s in metrics.jsonl"
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if '"samples_per_s"' in l]
w = int(sys.argv[2])
sel = rows[-w:] if len(rows) > w else (rows[1:] or rows)
mib = rows[-1].get("peak_device_mib") or [0]
print(statistics.median(r["samples_per_s"] for r in sel), max(mib) or "-", "")
PY
}
pt_run() {  # name limit script args...: prints "samples/s peak-MiB" or "- - why"
  local name=$1 lim=$2 rc=0
  shift 2
  timeout "$(cap "$lim")" "$PY" "$@" > "$LOGS/$name-pytorch.json" 2> "$LOGS/$name-pytorch.log" || rc=$?
  if [ $rc -ne 0 ]; then
    echo "- - PyTorch exit $rc$(iff $rc 124 ' (timed out)'): $(grep -v '^ ' "$LOGS/$name-pytorch.log" | grep -v '^Traceback' | tail -n 1 | cut -c1-160 | tr '|' '/')"
    return
  fi
  "$PY" -c 'import json, sys; r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print(r["samples_per_s"], r.get("peak_device_mib", "-"), "")' "$LOGS/$name-pytorch.json" ||
    echo "- - no JSON line from PyTorch"
}
budget_ok() {  # label seconds: false (and a skipped row) when the case would end after BENCH_UNTIL
  if (($(el) + $2 > BENCH_UNTIL)); then
    row "$1" "" "" "" "" "" "skipped: time budget (at $(el) s a case of about $2 s would end after $BENCH_UNTIL s)"
    SKIPPED=$((SKIPPED + 1))
    return 1
  fi
}
show_banner() {  # name key: what the banner says about the device and precision, for the first run of each key
  local name=$1 key=$2
  [[ ,$BANNER_SHOWN, == *,$key,* ]] && return
  BANNER_SHOWN+=",$key"
  grep -E "^  (model|device|input|fp16|bf16|precision|graphs|cuda|memory) " "$LOGS/$name-lockstep.log" 2>/dev/null | sed 's/^/      /' || true
}
train_case() {  # unet|dit batch precision graphs(0|1) seconds
  local kind=$1 b=$2 prec=$3 g=$4 est=$5 label name micro=0
  if [ "$kind" = unet ]; then label="U-Net, B $b, $prec$(iff "$g" 1 ', CUDA graphs')"
  else
    [ "$b" -gt 256 ] && micro=256
    label="DiT-B/2, B $b$(iff "$micro" 0 '' " (micro-batches of $micro)"), $prec"
  fi
  name="$kind-b$b-$prec$(iff "$g" 1 -graphs)"
  budget_ok "$label" "$est" || return 0
  say "    $label"
  local ls pt
  if [ "$kind" = unet ]; then
    ls=$(ls_train "$name" $((est * 2)) 20 configs/fashion_mnist.textproto --steps 30 --set data.name=packed \
      --set data.path="$WORK/unet.pack" --set train.batch_size="$b" --set train.log_every=1 --set train.eval_every=0 \
      --set sample.num=10 --set sample.steps=2 --set engine.device=cuda --set train.precision="${LS_PREC[$prec]}" \
      --set engine.cuda_graphs="$(iff "$g" 1 true false)")
    [ -z "$UNET_RUN" ] && [ -d "$WORK/runs/$name/checkpoints" ] && UNET_RUN=$WORK/runs/$name
    pt=$(pt_run "$name" $((est * 2)) bench/pytorch_unet.py train --device cuda --data random --batch "$b" --steps 30 \
      --window 20 --precision "$prec" --graphs "$g" --threads 4)
  else
    ls=$(ls_train "$name" $((est * 2)) 8 "$WORK/dit.textproto" --set train.batch_size="$b" --set train.micro_batch=$micro \
      --set train.precision="${LS_PREC[$prec]}")
    [ -z "$DIT_RUN" ] && [ -d "$WORK/runs/$name/checkpoints" ] && DIT_RUN=$WORK/runs/$name
    pt=$(pt_run "$name" $((est * 2)) bench/pytorch_dit.py train --device cuda --size B --batch "$b" --micro-batch $micro \
      --steps 12 --window 8 --precision "$prec" --threads 4)
  fi
  show_banner "$name" "$kind$(iff "$g" 1 -graphs)$(iff "$prec" fp16 -fp16)"
  local ls_sps ls_mib ls_why pt_sps pt_mib pt_why
  read -r ls_sps ls_mib ls_why <<< "$ls"
  read -r pt_sps pt_mib pt_why <<< "$pt"
  local note="${ls_why}${ls_why:+${pt_why:+; }}${pt_why}" params
  if [ "$kind" = dit ]; then  # the two networks' parameter counts (equal when they are the same network)
    params="parameters: Lockstep $(sed -n 's/^  model *: dit, \([0-9]*\) parameters.*/\1/p' "$LOGS/$name-lockstep.log" 2>/dev/null | head -n 1 || true)"
    params+=", PyTorch $("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["parameters"])' "$LOGS/$name-pytorch.json" 2>/dev/null || echo -)"
    note+="${note:+; }$params"
  fi
  row "$label" "$ls_sps" "$pt_sps" "samples/s" "$ls_mib" "$pt_mib" "$note"
  # a DiT-B/2 checkpoint is 2 GB: keep only the runs the sampling cases read
  if [ "$WORK/runs/$name" != "$UNET_RUN" ] && [ "$WORK/runs/$name" != "$DIT_RUN" ]; then rm -rf "${WORK:?}/runs/$name"; fi
  say "      Lockstep $ls_sps samples/s, PyTorch $pt_sps samples/s ${note:+($note)}"
  publish
}
sample_case() {  # unet|dit seconds
  local kind=$1 est=$2 run label n steps sampler pt_args
  if [ "$kind" = unet ]; then run=$UNET_RUN n=1024 steps=50 sampler=heun
    label="U-Net sampling, $n images, $steps Heun steps"
    pt_args=(bench/pytorch_unet.py sample --device cuda --num "$n" --sample-steps "$steps" --threads 4)
  else run=$DIT_RUN n=256 steps=10 sampler=euler
    label="DiT-B/2 sampling, $n images, $steps Euler steps"
    pt_args=(bench/pytorch_dit.py sample --device cuda --size B --num "$n" --sample-steps "$steps" --chunk "$n" --threads 4)
  fi
  budget_ok "$label" "$est" || return 0
  say "    $label"
  local ls_ips="" pt_ips="" note="" secs rc=0
  if [ $LS_OK -eq 1 ] && [ -n "$run" ]; then
    timeout "$(cap $((est * 2)))" "$BIN" sample "$run" --num $n --steps $steps --sampler $sampler --guidance 1 --device cuda \
      --out "$WORK/$kind-samples.npy" > "$LOGS/$kind-sample-lockstep.log" 2>&1 || rc=$?
    secs=$(sed -n 's/.* rank, \([0-9.]*\) s$/\1/p' "$LOGS/$kind-sample-lockstep.log" | head -n 1)
    if [ $rc -eq 0 ] && [ -n "$secs" ]; then ls_ips=$("$PY" -c "print($n / $secs)"); else note="Lockstep exit $rc"; fi
  else
    note="Lockstep: no run to sample from"
  fi
  rc=0
  timeout "$(cap $((est * 2)))" "$PY" "${pt_args[@]}" > "$LOGS/$kind-sample-pytorch.json" 2> "$LOGS/$kind-sample-pytorch.log" || rc=$?
  secs=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])["seconds"])' "$LOGS/$kind-sample-pytorch.json" 2>/dev/null || true)
  if [ $rc -eq 0 ] && [ -n "$secs" ]; then pt_ips=$("$PY" -c "print($n / $secs)"); else note+="${note:+; }PyTorch exit $rc"; fi
  row "$label" "$ls_ips" "$pt_ips" "images/s" "" "" "$note"
  say "      Lockstep $ls_ips images/s, PyTorch $pt_ips images/s ${note:+($note)}"
  publish
}

# the cases, most informative first (kind batch precision graphs estimated-seconds-for-both-sides); called through an
# || so that nothing unexpected in one case ends the script (errexit is off inside)
bench() { "$@" || say "    (the case's own script failed: $*)"; }
say "(d) Lockstep against PyTorch on $(nvidia-smi --query-gpu=name --format=csv,noheader | head -n 1); cases start until $BENCH_UNTIL s"
bench train_case unet 128 bf16 0 25
bench train_case unet 128 bf16 1 25
bench train_case dit 128 bf16 0 35
bench sample_case unet 20
bench sample_case dit 25
bench train_case unet 128 fp32 0 25
bench train_case unet 128 fp16 0 25
bench train_case dit 128 fp32 0 45
bench train_case dit 128 fp16 0 35
bench train_case unet 512 bf16 0 25
bench train_case unet 128 fp32 1 25
bench train_case unet 128 fp16 1 25
bench train_case unet 512 fp32 0 25
bench train_case unet 512 fp16 0 25
bench train_case unet 512 bf16 1 25
bench train_case unet 512 fp32 1 25
bench train_case unet 512 fp16 1 25
bench train_case dit 512 bf16 0 50
bench train_case dit 512 fp16 0 50
bench train_case dit 512 fp32 0 90
[ $SKIPPED -gt 0 ] && META[skipped]="$SKIPPED cases (rows marked skipped): the check's time budget, GPU_CHECK_BENCH_UNTIL=$BENCH_UNTIL s"

# --- (e) 1 GPU against 2 ------------------------------------------------------------------------------------------------------------
stage_multi_gpu() {
  if [ "$NGPU" -lt 2 ] || [ $BUILD_OK -ne 1 ]; then
    say "(e) 1 GPU against 2: skipped ($NGPU GPU, or no build)"
    return 0
  fi
  say "(e) 1 rank against 2 on the nccl backend ($NGPU GPUs)"
  local inv_ok=1 n rc
  for n in 1 2; do
    timeout "$(cap 90)" mpirun --oversubscribe -n $n "$BIN" train --steps 20 --set engine.backend=nccl --set train.log_every=1 \
      --set train.eval_every=0 --set sample.num=10 --out "$WORK/runs/inv$n" > "$LOGS/invariance-$n.log" 2>&1 || inv_ok=0
  done
  if [ $inv_ok -eq 1 ]; then
    META[invariance]=$("$PY" - "$WORK/runs/inv1/metrics.jsonl" "$WORK/runs/inv2/metrics.jsonl" <<'PY'
import json, sys
a, b = ([json.loads(l)["loss"] for l in open(p) if '"samples_per_s"' in l] for p in sys.argv[1:])
worst = max(abs(x - y) / max(abs(x), 1e-12) for x, y in zip(a, b)) if a and len(a) == len(b) else float("inf")
print(f"{'passed' if worst <= 1e-4 else 'FAILED'}: the losses of {len(a)} ticks on 1 and 2 GPUs agree to {worst:.2e} relative (limit 1e-4)")
PY
    ) || META[invariance]="FAILED: no losses to compare"
  else
    META[invariance]="FAILED: a run did not finish (logs/invariance-*.log)"
  fi
  say "    ${META[invariance]}"
  # Where a Catch2 case on 2 GPUs goes: tag it [gpus2] (2 ranks on the nccl backend against 1, as the [nccl] case
  # compares 1 GPU rank with the CPU backends); it runs here, and only here, when the machine has 2 or more GPUs.
  if (cd "$BUILD" && ./lockstep_tests --list-test-names-only "[gpus2]" 2>/dev/null | grep -q .); then
    rc=0
    (cd "$BUILD" && timeout "$(cap 180)" ./lockstep_tests "[gpus2]") > "$LOGS/tests-gpus2.log" 2>&1 || rc=$?
    META[invariance]+="; lockstep_tests [gpus2]: $(grep -E '^All tests passed|^test cases:' "$LOGS/tests-gpus2.log" | head -n 1) (exit $rc)"
  fi
}
if stage_multi_gpu; then :; fi

# --- (f) the report --------------------------------------------------------------------------------------------------------------------
META[budget]="$(el) s in all (benchmark cases start until $BENCH_UNTIL s)"
publish
say "(f) done; bench/results/gpu.md${OUT:+, and $OUT/gpu.md with the logs}"
echo
cat "$REPORT"
rm -rf "${WORK:?}/runs" "$WORK"/*.npy "$WORK"/*.pack  # the logs stay in $WORK/logs
exec >&- 2>&-  # tee sees the end of its input, writes the rest of the log and exits
for _ in $(seq 50); do kill -0 "$TEE_PID" 2> /dev/null || break; sleep 0.1; done
if [ -n "${OUT:-}" ] && [ -d "${OUT:-}" ]; then cp "$LOGS/gpu_check.log" "$OUT/gpu_check.log" 2>/dev/null || true; fi
[ $BUILD_OK -eq 1 ] && [ $TESTS_OK -eq 1 ]
