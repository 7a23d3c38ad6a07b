#!/usr/bin/env bash
# The alpha-beta model of ring all-reduce, T(p, n) = 2 (p - 1) alpha + 2 (p - 1) / p * n * beta, fitted to
# MPI_Allreduce times measured here on 2 ranks (T = 2 alpha + n beta), then projected to 8 ... 512 ranks for the
# gradients of the Fashion-MNIST U-Net (1.06 M parameters) and of a DiT-B-sized model (130 M), here and at a stated
# interconnect (200 Gb/s InfiniBand HDR: alpha = 5 us, beta = 1 / 25 GB/s). A benchmark: it measures and prints.
#   bench/allreduce_model.sh        (installs python3-mpi4py when missing; writes bench/results/allreduce_model.md)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=/usr/bin/python3
if ! $PY -c 'import mpi4py, numpy' 2> /dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends python3-mpi4py python3-numpy > /dev/null
fi
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
mkdir -p bench/results
mpirun --oversubscribe -n 2 $PY bench/allreduce.py > bench/results/allreduce_times.jsonl
$PY - <<'PY' | tee bench/results/allreduce_model.md
import json, datetime, numpy as np
rows = [json.loads(l) for l in open("bench/results/allreduce_times.jsonl")]
n = np.array([r["bytes"] for r in rows], float); t = np.array([r["seconds"] for r in rows])
# least squares on T = 2 alpha + n beta, weighted by 1/T (relative error)
A = np.stack([2 * np.ones_like(n), n], 1) / t[:, None]
alpha, beta = np.linalg.lstsq(A, np.ones_like(t), rcond=None)[0]
print(f"All-reduce cost model, {datetime.date.today()}, Open MPI on this machine, 2 ranks (bench/allreduce_model.sh)\n")
print(f"Fitted here: alpha = {alpha * 1e6:.1f} us, beta = 1 / ({1 / beta / 1e9:.2f} GB/s) (shared memory between 2 processes).\n")
print("| bytes | measured | model |\n| --- | --- | --- |")
for b, s in zip(n, t):
    print(f"| {int(b)} | {s * 1e6:.1f} us | {(2 * alpha + b * beta) * 1e6:.1f} us |")
def ring(p, bytes_, a, b):
    return 2 * (p - 1) * a + 2 * (p - 1) / p * bytes_ * b
models = {"U-Net (1.06 M params, 4.3 MB)": 4.26e6, "DiT-B-sized (130 M params, 520 MB)": 5.2e8}
ib_a, ib_b = 5e-6, 1 / 25e9
print("\nProjected ring all-reduce per tick (float32 gradients), 200 Gb/s InfiniBand (alpha 5 us, beta 1/25 GB/s):\n")
print("| ranks | " + " | ".join(models) + " |\n| --- | " + " | ".join("---" for _ in models) + " |")
for p in [8, 16, 32, 64, 128, 256, 512]:
    print(f"| {p} | " + " | ".join(f"{ring(p, b, ib_a, ib_b) * 1e3:.2f} ms" for b in models.values()) + " |")
PY
