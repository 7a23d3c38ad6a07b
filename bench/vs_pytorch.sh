#!/usr/bin/env bash
# Lockstep against an equivalent PyTorch program (bench/pytorch_cfm.py, Debian's python3-torch 1.13) on the same
# model, batch, data distribution and threads, alternating A B A B over ROUNDS rounds in one invocation; prints
# medians and the ratio Lockstep / PyTorch and writes bench/results/vs_pytorch.md. A benchmark, not a test: it
# measures and prints, never fails on a slow result.
#
#   bench/vs_pytorch.sh [ROUNDS] [TICKS] [CASES]   (installs python3-torch when missing, builds first)
#
# CASES: all (the default) or a comma-separated subset of the cases below (overhead, default, compute, scaling,
# sampling, unet, dit); a subset's table goes to bench/results/vs_pytorch-CASES.md, the whole one to vs_pytorch.md.
#
# Cases (1 thread per rank unless said otherwise):
#   overhead-bound   64x3 MLP, B = 512, 1 rank: per-tick overhead dominates (0.02 GFLOP a tick)
#   default          the default config (256x3 MLP, B = 512), 1 rank, 1 and 2 threads
#   compute-bound    256x3 MLP, B = 4096, 1 rank: also achieved FLOP/s against this machine's single-core SGEMM
#                    peak (the higher of OpenBLAS's and oneDNN's)
#   scaling          default model, B = 512 per rank, 2 ranks against 1 (run back to back in each round):
#                    weak-scaling efficiency, Lockstep (gradients summed in shared memory; also with engine.balance
#                    AUTO) against DDP over gloo
#   sampling         10,000 2-D samples, 100 Euler steps, 1 rank and 2 ranks (PyTorch: 2 processes of half each)
#   dit              DiT-S/2 on 32x32x3 (random images, 10 classes, B = 64, 2 threads), 8 ticks a round, in float32 and
#                    bf16 autocast, against bench/pytorch_dit.py (the same network, parameter count and initialisation);
#                    sampling 64 images with 10 Euler steps; peak resident set with and without activation
#                    checkpointing (Lockstep: model.checkpoint_activations; PyTorch: torch.utils.checkpoint)
#   U-Net            configs/fashion_mnist.textproto (B = 128, 2 threads), in bf16 autocast and in float32, against
#                    bench/pytorch_unet.py, 30 ticks a round; sampling 256 images with 50 Heun steps (guidance 1), 2 threads
#                    on 1 rank and 1 thread on each of 2 ranks
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
TICKS=${2:-1500}
CASES=${3:-all}  # or a comma-separated subset of overhead,default,compute,scaling,sampling,unet,dit
for c in ${CASES//,/ }; do
  case $c in all | overhead | default | compute | scaling | sampling | unet | dit) ;;
    *) echo "vs_pytorch.sh: unknown case '$c' (cases: overhead, default, compute, scaling, sampling, unet, dit, all)" >&2; exit 2 ;;
  esac
done
want() { [[ $CASES == all || ,$CASES, == *,$1,* ]]; }
PY=/usr/bin/python3
if ! $PY -c 'import torch' 2> /dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends python3-torch > /dev/null
fi
launch/build.sh lockstep > /dev/null
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
BIN=build/lockstep
# PyTorch multiplies with the same OpenBLAS kernels as Lockstep: on a CPU this OpenBLAS does not know, Lockstep runs
# with the OPENBLAS_CORETYPE it chose (common/util/blas_core.h), and so does every run here, PyTorch's included
CORE=$("$BIN" --version | sed -n 's/.*OPENBLAS_CORETYPE=\([A-Za-z0-9]*\) set by Lockstep.*/\1/p')
if [ -n "$CORE" ]; then export OPENBLAS_CORETYPE=$CORE; fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# Lockstep: median samples/s of the logged windows after the first 20% of the run (metrics.jsonl)
ls_train() {  # ranks threads batch_per_rank width [extra settings...]
  local ranks=$1 threads=$2 batch=$3 width=$4 out="$WORK/ls-$RANDOM$RANDOM"
  shift 4
  local args=(train --steps "$TICKS" --out "$out" --set engine.threads="$threads" --set train.batch_size=$((batch * ranks))
    --set model.mlp.width="$width" --set train.log_every=50 --set train.eval_every=0 --set sample.num=10 "$@")
  if [ "$ranks" -eq 1 ]; then "$BIN" "${args[@]}" > /dev/null 2>&1; else mpirun --oversubscribe -n "$ranks" "$BIN" "${args[@]}" > /dev/null 2>&1; fi
  $PY - "$out" <<'PY'
import json, sys, statistics
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl")]
rows = [r for r in rows if "samples_per_s" in r]
print(statistics.median(r["samples_per_s"] for r in rows[max(1, len(rows) // 5):]))
PY
}
pt_train() {  # ranks threads batch_per_rank width
  OMP_NUM_THREADS=$2 $PY bench/pytorch_cfm.py train --ranks "$1" --threads "$2" --batch $(($3 * $1)) --width "$4" --steps "$TICKS" |
    $PY -c 'import json, sys; print(json.loads(sys.stdin.read())["samples_per_s"])'
}
median() { $PY -c 'import sys, statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
ratio() { $PY -c "print(f'{$1 / $2:.2f}')"; }
# PyTorch sampling on 2 ranks: two processes at once with 1 thread each, each half of the samples under its own
# seed (sampling needs no communication; what torchrun would start); prints the slower one's sampling seconds
pt_sample_two() {  # script args...
  local script=$1; shift
  OMP_NUM_THREADS=1 $PY "$script" sample --threads 1 --seed 1 "$@" > "$WORK/two-a.json" &
  OMP_NUM_THREADS=1 $PY "$script" sample --threads 1 --seed 2 "$@" > "$WORK/two-b.json"
  wait
  $PY -c 'import json, sys; print(max(json.load(open(f))["seconds"] for f in sys.argv[1:]))' "$WORK/two-a.json" "$WORK/two-b.json"
}
flops_per_sample() {  # width: forward 2 sum(in*out), training 3x forward less the first layer's input gradient
  $PY -c "w=$1; layers=[(34,w),(w,w),(w,w),(w,2)]; f=2*sum(a*b for a,b in layers); print(3*f - 2*34*w)"
}

# this machine's single-core SGEMM peak, 2048^3, best of 5, from both libraries on it: OpenBLAS (libblas.so.3,
# what PyTorch multiplies with) and oneDNN (dnnl_sgemm, what Lockstep's fused MLP step multiplies with when built
# with oneDNN's header); shares are against the higher of the two, measured right before and after each
# compute-bound round (this machine's speed drifts by several percent over minutes)
measure_peaks() {  # prints "OpenBLAS oneDNN" in GFLOP/s
  OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 $PY -c '
import ctypes, time, torch
torch.set_num_threads(1)
n = 2048
a, b, c = torch.randn(n, n), torch.randn(n, n), torch.zeros(n, n)
def best(f):
    t_best = 1e9
    for _ in range(5):
        t = time.perf_counter(); f(); t_best = min(t_best, time.perf_counter() - t)
    return 2 * n**3 / t_best / 1e9
blas = best(lambda: a.mm(b))
try:
    lib = ctypes.CDLL("libdnnl.so.2")
    lib.dnnl_sgemm.argtypes = [ctypes.c_char, ctypes.c_char] + [ctypes.c_int64] * 3 + [ctypes.c_float, ctypes.c_void_p, ctypes.c_int64,
                              ctypes.c_void_p, ctypes.c_int64, ctypes.c_float, ctypes.c_void_p, ctypes.c_int64]
    dnnl = best(lambda: lib.dnnl_sgemm(b"N", b"N", n, n, n, 1.0, a.data_ptr(), n, b.data_ptr(), n, 0.0, c.data_ptr(), n))
    assert torch.allclose(c, a.mm(b), rtol=1e-3, atol=1e-2)
except OSError:
    dnnl = 0.0
print(blas, dnnl)'
}
read -r PEAK_BLAS PEAK_DNNL < <(measure_peaks)

REPORT=bench/results/vs_pytorch.md
if [ "$CASES" != all ]; then REPORT="bench/results/vs_pytorch-${CASES//,/-}.md"; fi
mkdir -p bench/results
{
  echo "Lockstep vs PyTorch $($PY -c 'import torch; print(torch.__version__)') (bench/vs_pytorch.sh), $(date -u +%Y-%m-%d), $(nproc) cores"
  echo "($(lscpu | sed -n 's/^Model name: *//p')${CORE:+; OpenBLAS kernels $CORE for both, see common/util/blas_core.h}), $ROUNDS rounds of $TICKS ticks, A B alternating; single-core SGEMM peak at the start $(printf %.1f "$PEAK_BLAS") GFLOP/s (OpenBLAS), $(printf %.1f "$PEAK_DNNL") GFLOP/s (oneDNN)"
  echo
  echo "| case | Lockstep | PyTorch | Lockstep / PyTorch |"
  echo "| --- | --- | --- | --- |"
} > "$REPORT"

declare -A SPS
row() { echo "$1" >> "$REPORT"; echo "$1"; }
train_case() {  # label ranks threads batch width
  local label=$1 a=() b=()
  for _ in $(seq "$ROUNDS"); do
    a+=("$(ls_train "$2" "$3" "$4" "$5")")
    b+=("$(pt_train "$2" "$3" "$4" "$5")")
  done
  local ma mb
  ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
  SPS["$label/ls"]=$ma; SPS["$label/pt"]=$mb
  row "$(printf '| %s: steps/s | %.1f | %.1f | %s |' "$label" "$($PY -c "print($ma / ($4 * $2))")" "$($PY -c "print($mb / ($4 * $2))")" "$(ratio "$ma" "$mb")")"
}
if want overhead; then
  train_case "overhead-bound 64x3, B 512, 1 rank" 1 1 512 64
fi
if want default; then
  train_case "default 256x3, B 512, 1 rank, 1 thread" 1 1 512 256
  train_case "default 256x3, B 512, 1 rank, 2 threads" 1 2 512 256
fi
if want compute; then
  # compute-bound: as train_case, with the peaks measured around each Lockstep round; share per round, then medians
  F=$(flops_per_sample 256)
  a=(); b=(); share_a=(); share_b=()
  for _ in $(seq "$ROUNDS"); do
    read -r p1 q1 < <(measure_peaks)
    x=$(ls_train 1 1 4096 256)
    read -r p2 q2 < <(measure_peaks)
    y=$(pt_train 1 1 4096 256)
    peak=$($PY -c "print(max(($p1 + $p2) / 2, ($q1 + $q2) / 2))")
    a+=("$x"); b+=("$y")
    share_a+=("$($PY -c "print(100 * $x * $F / 1e9 / $peak)")"); share_b+=("$($PY -c "print(100 * $y * $F / 1e9 / $peak)")")
  done
  ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
  row "$(printf '| compute-bound 256x3, B 4096, 1 rank: steps/s | %.1f | %.1f | %s |' "$($PY -c "print($ma / 4096)")" "$($PY -c "print($mb / 4096)")" "$(ratio "$ma" "$mb")")"
  row "$(printf '| compute-bound: GFLOP/s (share of the higher SGEMM peak, measured around each round) | %.1f (%.1f%%) | %.1f (%.1f%%) | |' \
    "$($PY -c "print($ma * $F / 1e9)")" "$(median "${share_a[@]}")" "$($PY -c "print($mb * $F / 1e9)")" "$(median "${share_b[@]}")")"
fi
if want scaling; then
  # scaling: each round runs 1 rank and 2 ranks back to back, efficiency per round, then medians; twice as many
  # rounds as the other cases (a 2-rank run needs both cores, so the machine's drift shows in it twice over)
  a=(); b=(); eff_a=(); eff_b=(); eff_auto=()
  for _ in $(seq $((ROUNDS * 2))); do
    x1=$(ls_train 1 1 512 256); x2=$(ls_train 2 1 512 256); x3=$(ls_train 2 1 512 256 --set engine.balance=AUTO)
    y1=$(pt_train 1 1 512 256); y2=$(pt_train 2 1 512 256)
    a+=("$x2"); b+=("$y2")
    eff_a+=("$($PY -c "print(100 * $x2 / (2 * $x1))")"); eff_b+=("$($PY -c "print(100 * $y2 / (2 * $y1))")")
    eff_auto+=("$($PY -c "print(100 * $x3 / (2 * $x1))")")
  done
  ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
  row "$(printf '| 2 ranks x 1 thread, 256x3, B 512 per rank: steps/s | %.1f | %.1f | %s |' "$($PY -c "print($ma / 1024)")" "$($PY -c "print($mb / 1024)")" "$(ratio "$ma" "$mb")")"
  row "$(printf '| weak-scaling efficiency, 2 ranks against 1, measured back to back (shared memory / DDP over gloo) | %.1f%% | %.1f%% | |' \
    "$(median "${eff_a[@]}")" "$(median "${eff_b[@]}")")"
  row "$(printf '| the same with engine.balance AUTO (the split follows each rank'"'"'s speed; DDP has no such option) | %.1f%% | | |' \
    "$(median "${eff_auto[@]}")")"

fi
if want sampling; then
  # sampling: 10,000 samples, 100 Euler steps (the network of a short run; the speed does not depend on training)
  "$BIN" train --steps 10 --out "$WORK/net" --set engine.threads=1 --set train.eval_every=0 --set sample.num=10 > /dev/null 2>&1
  a=(); a2=(); b=(); b2=()
  for _ in $(seq "$ROUNDS"); do
    a+=("$(OMP_NUM_THREADS=1 "$BIN" sample "$WORK/net" --num 10000 --steps 100 --sampler euler --out "$WORK/s1.npy" 2>&1 | sed -n 's/.* rank, \([0-9.]*\) s$/\1/p')")
    a2+=("$(OMP_NUM_THREADS=1 mpirun --oversubscribe -n 2 "$BIN" sample "$WORK/net" --num 10000 --steps 100 --sampler euler --out "$WORK/s2.npy" 2>&1 | sed -n 's/.* ranks, \([0-9.]*\) s$/\1/p')")
    b+=("$(OMP_NUM_THREADS=1 $PY bench/pytorch_cfm.py sample --threads 1 --num 10000 --sample-steps 100 | $PY -c 'import json, sys; print(json.loads(sys.stdin.read())["seconds"])')")
    b2+=("$(pt_sample_two bench/pytorch_cfm.py --num 5000 --sample-steps 100)")
  done
  ma=$(median "${a[@]}"); ma2=$(median "${a2[@]}"); mb=$(median "${b[@]}"); mb2=$(median "${b2[@]}")
  row "$(printf '| sampling 10,000 2-D samples, 100 Euler steps, 1 rank: samples/s | %.0f | %.0f | %s |' "$($PY -c "print(10000 / $ma)")" "$($PY -c "print(10000 / $mb)")" "$(ratio "$mb" "$ma")")"
  row "$(printf '| the same on 2 ranks x 1 thread (PyTorch: 2 processes, 5,000 samples each) | %.0f | %.0f | %s |' "$($PY -c "print(10000 / $ma2)")" \
    "$($PY -c "print(10000 / $mb2)")" "$(ratio "$mb2" "$ma2")")"
fi
if want unet; then
  # the Fashion-MNIST U-Net: training steps/s in the config's bf16 autocast and in float32 (which of the two is faster
  # depends on the CPU: bf16 convolutions need AVX512-BF16 or AMX, and oneDNN's bf16 kernels for AVX512-BF16 alone can
  # be slower than its float32 ones; Lockstep then runs them in float32 arithmetic, train.bf16_convolutions auto,
  # while PyTorch's autocast runs oneDNN's bf16 kernels), then sampling
  unet_case() {  # label lockstep-precision pytorch-bf16
    local a=() b=()
    for _ in $(seq "$ROUNDS"); do
      out="$WORK/unet-$RANDOM$RANDOM"
      "$BIN" train configs/fashion_mnist.textproto --steps 30 --out "$out" --set train.log_every=5 --set train.eval_every=0 \
        --set sample.num=10 --set engine.threads=2 --set train.precision="$2" > /dev/null 2>&1
      a+=("$($PY -c "
import json, statistics
rows = [json.loads(l) for l in open('$out/metrics.jsonl') if '\"samples_per_s\"' in l]
print(statistics.median(r['samples_per_s'] for r in rows[1:]))")")
      b+=("$(OMP_NUM_THREADS=2 $PY bench/pytorch_unet.py train --steps 30 --threads 2 --bf16 "$3" | $PY -c 'import json, sys; print(json.loads(sys.stdin.read())["samples_per_s"])')")
    done
    local ma mb
    ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
    row "$(printf '| U-Net (Fashion-MNIST config, %s, B 128, 2 threads): steps/s | %.2f | %.2f | %s |' "$1" "$($PY -c "print($ma / 128)")" "$($PY -c "print($mb / 128)")" "$(ratio "$ma" "$mb")")"
  }
  unet_case bf16 bf16_mixed 1
  unet_case float32 fp32 0
  sa=$("$BIN" sample "$out" --num 256 --steps 50 --sampler heun --guidance 1 --out "$WORK/u.npy" 2>&1 | sed -n 's/.* rank, \([0-9.]*\) s$/\1/p')
  sb=$(OMP_NUM_THREADS=2 $PY bench/pytorch_unet.py sample --threads 2 --num 256 --sample-steps 50 | $PY -c 'import json, sys; print(json.loads(sys.stdin.read())["seconds"])')
  row "$(printf '| U-Net sampling, 256 images, 50 Heun steps, 2 threads: images/s | %.1f | %.1f | %s |' "$($PY -c "print(256 / $sa)")" "$($PY -c "print(256 / $sb)")" "$(ratio "$sb" "$sa")")"
  sa2=$(mpirun --oversubscribe -n 2 "$BIN" sample "$out" --num 256 --steps 50 --sampler heun --guidance 1 --threads 1 --out "$WORK/u2.npy" 2>&1 | sed -n 's/.* ranks, \([0-9.]*\) s$/\1/p')
  sb2=$(pt_sample_two bench/pytorch_unet.py --num 128 --sample-steps 50)
  row "$(printf '| the same on 2 ranks x 1 thread (PyTorch: 2 processes, 128 images each) | %.1f | %.1f | %s |' "$($PY -c "print(256 / $sa2)")" "$($PY -c "print(256 / $sb2)")" "$(ratio "$sb2" "$sa2")")"
fi
if want dit; then
  # random uint8 images [4096, 3, 32, 32] and labels for Lockstep (PyTorch draws its own: the speed does not depend on them)
  $PY -c "
import numpy as np
rng = np.random.default_rng(0)
np.save('$WORK/dit-x.npy', rng.integers(0, 256, (4096, 3, 32, 32), dtype=np.uint8))
np.save('$WORK/dit-y.npy', rng.integers(0, 10, 4096).astype(np.int64))"
  cat > "$WORK/dit.textproto" <<CFG
name: "dit_bench"
data { name: "npy" images: "$WORK/dit-x.npy" labels: "$WORK/dit-y.npy" }
model { name: "dit" class_conditional: true dit { size: "S" patch: 2 } }
optim { lr: 1e-4 }
train { steps: 8 batch_size: 64 log_every: 1 eval_every: 0 label_dropout: 0.1 }
sample { num: 10 steps: 2 }
engine { threads: 2 }
CFG
  DIT_TICKS=${DIT_TICKS:-8}  # ticks a run (the first is left out of the median)
  ls_dit() {  # extra settings...: prints "samples/s peak-MiB"
    local out="$WORK/dit-$RANDOM$RANDOM"
    "$BIN" train "$WORK/dit.textproto" --steps "$DIT_TICKS" --out "$out" "$@" > /dev/null 2>&1
    echo "$out" > "$WORK/dit-last-run"  # (this runs in a subshell: a variable would not come back)
    $PY -c "
import json, statistics
rows = [json.loads(l) for l in open('$out/metrics.jsonl') if '\"samples_per_s\"' in l]
print(statistics.median(r['samples_per_s'] for r in rows[max(1, len(rows) // 5):]), max(rows[-1]['peak_rss_mib']))"
  }
  pt_dit() {  # pytorch_dit.py arguments...: prints "samples/s peak-MiB"
    OMP_NUM_THREADS=2 $PY bench/pytorch_dit.py train --threads 2 --batch 64 --steps "$DIT_TICKS" "$@" |
      $PY -c 'import json, sys; r = json.loads(sys.stdin.read()); print(r["samples_per_s"], r["peak_rss_mib"])'
  }
  dit_case() {  # label lockstep-precision pytorch-bf16
    local a=() b=() ma mb
    for _ in $(seq "$ROUNDS"); do
      read -r x _ < <(ls_dit --set train.precision="$2"); a+=("$x")
      read -r y _ < <(pt_dit --bf16 "$3"); b+=("$y")
    done
    ma=$(median "${a[@]}"); mb=$(median "${b[@]}")
    row "$(printf '| DiT-S/2 training (32x32x3, %s, B 64, 2 threads): samples/s | %.2f | %.2f | %s |' "$1" "$ma" "$mb" "$(ratio "$ma" "$mb")")"
  }
  dit_case float32 fp32 0
  dit_case bf16 bf16_mixed 1
  sa=$("$BIN" sample "$(cat "$WORK/dit-last-run")" --num 64 --steps 10 --sampler euler --guidance 1 --threads 2 --out "$WORK/d.npy" 2>&1 | sed -n 's/.* rank, \([0-9.]*\) s$/\1/p')
  sb=$(OMP_NUM_THREADS=2 $PY bench/pytorch_dit.py sample --threads 2 --num 64 --sample-steps 10 | $PY -c 'import json, sys; print(json.loads(sys.stdin.read())["seconds"])')
  row "$(printf '| DiT-S/2 sampling, 64 images, 10 Euler steps, 2 threads: images/s | %.2f | %.2f | %s |' "$($PY -c "print(64 / $sa)")" "$($PY -c "print(64 / $sb)")" "$(ratio "$sb" "$sa")")"
  # memory and time per tick with and without checkpointing, float32 (one round each)
  read -r s0 m0 < <(ls_dit)
  read -r s1 m1 < <(ls_dit --set model.checkpoint_activations=true)
  read -r t0 n0 < <(pt_dit)
  read -r t1 n1 < <(pt_dit --checkpoint 1)
  row "$(printf '| DiT-S/2, B 64, float32: peak resident set MiB, plain / checkpointed | %.0f / %.0f | %.0f / %.0f | %s / %s |' "$m0" "$m1" "$n0" "$n1" "$(ratio "$m0" "$n0")" "$(ratio "$m1" "$n1")")"
  row "$(printf '| the same: checkpointed memory / plain, time per tick checkpointed / plain | %s, %s | %s, %s | |' "$(ratio "$m1" "$m0")" "$(ratio "$s0" "$s1")" "$(ratio "$n1" "$n0")" "$(ratio "$t0" "$t1")")"
fi
echo
cat "$REPORT"
