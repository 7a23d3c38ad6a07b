#!/usr/bin/env bash
# The image data pipeline against PyTorch's, side by side in one invocation. A benchmark, not a test: it measures
# and prints, never fails.
#  1. Packing: `lockstep data pack` of a folder of N 32x32 RGB PNGs in 10 class folders (made here), on 1 thread
#     and on every core, in images/s of its own time (without the process's start-up).
#  2. Feeding training, per core: Lockstep's data phase on the packed file (one rank, one thread: read the items of
#     the slice from the mapped file, uint8 to float, xflip, the noise and times of the path), against
#     torchvision's ImageFolder + RandomHorizontalFlip + ToTensor + Normalize through a DataLoader (PNG decoding by
#     PIL, one worker per core, the total divided by the cores; and with no worker process), on the same folder.
#  3. Memory per rank: 2 ranks training from a packed file of over 1 GB (CIFAR-format records made here) against
#     the same items as a uint8 .npy, which every rank loads as its own float32 copy (data.name "npy"); the peak
#     resident set of each rank (ru_maxrss).
# Usage: bench/data_pipeline.sh [N]   (default N = 10000; installs python3-torch and python3-torchvision when missing,
# builds first; writes bench/results/data_pipeline.md)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10000}
PY=/usr/bin/python3
if ! $PY -c 'import torch, torchvision, PIL' 2> /dev/null; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get install -y -qq --no-install-recommends python3-torch python3-torchvision python3-pil > /dev/null
fi
launch/build.sh lockstep >/dev/null
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CORES=$(nproc)
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_WAIT_POLICY=PASSIVE

# the folder: smooth random colour images (PNG compresses them as it would photos, not as noise or flat colour)
"$PY" - "$WORK/folder" "$N" <<'PY'
import os, sys
import numpy as np
from PIL import Image
out, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
for k in range(10):
    os.makedirs(f"{out}/class{k}", exist_ok=True)
for i in range(n):
    low = rng.integers(0, 256, size=(5, 5, 3), dtype=np.uint8)
    img = Image.fromarray(low).resize((32, 32), Image.BICUBIC)
    noise = rng.integers(-12, 13, size=(32, 32, 3))
    Image.fromarray(np.clip(np.asarray(img).astype(int) + noise, 0, 255).astype(np.uint8)).save(f"{out}/class{i % 10}/{i:06d}.png")
PY
FOLDER_MB=$(du -sm "$WORK/folder" | cut -f1)

# packing's own time, as `data pack` prints it (from listing the sources to the file's rename; without the process's
# start-up, about 0.3 s of loading LibTorch's libraries)
pack_seconds() { build/lockstep data pack "$@" 2>&1 >/dev/null | sed -n 's/^packed .* in \([0-9.]*\) s, .*/\1/p'; }
S1=$(pack_seconds "$WORK/folder" --threads 1 --out "$WORK/one.pack")
SN=$(pack_seconds "$WORK/folder" --out "$WORK/all.pack")
cmp -s "$WORK/one.pack" "$WORK/all.pack" || echo "warning: the packs on 1 and $CORES threads differ"
PACK1=$("$PY" -c "print($N / $S1)"); PACKN=$("$PY" -c "print($N / $SN)")

# Lockstep's data phase: a tiny U-Net (its compute is not measured), 256 images a tick, one rank and thread
TICKS=40
build/lockstep train --steps $TICKS --set data.name=packed --set data.path="$WORK/all.pack" --set data.xflip=true \
  --set model.name=unet --set model.class_conditional=true --set model.unet.channels=8 --set model.unet.groups=4 \
  --set model.unet.channel_mult=1,2 --set model.unet.attention=false --set train.batch_size=256 --set train.log_every=1 \
  --set train.eval_every=0 --set sample.num=4 --set sample.steps=2 --set engine.threads=1 --out "$WORK/run" >/dev/null 2>&1
LS=$("$PY" - "$WORK/run" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1] + "/metrics.jsonl") if '"time_data_s"' in l][2:]
print(256 / statistics.median(r["time_data_s"][0] for r in rows))
PY
)

# PyTorch: ImageFolder through a DataLoader, two epochs' worth of batches after a warm-up batch
TORCH=$("$PY" - "$WORK/folder" "$CORES" <<'PY'
import sys, time
import torch
from torch.utils.data import DataLoader
from torchvision import datasets, transforms
torch.set_num_threads(1)
t = transforms.Compose([transforms.RandomHorizontalFlip(), transforms.ToTensor(), transforms.Normalize(0.5, 0.5)])
ds = datasets.ImageFolder(sys.argv[1], transform=t)
out = []
for workers in (int(sys.argv[2]), 0):
    dl = DataLoader(ds, batch_size=256, shuffle=True, num_workers=workers, drop_last=True, persistent_workers=workers > 0)
    it = iter(dl); next(it)
    n, start = 0, time.perf_counter()
    for _ in range(2):
        for x, y in it:
            n += x.shape[0]
        it = iter(dl)
    out.append(n / (time.perf_counter() - start) / max(workers, 1))
print(out[0], out[1])
PY
)
TORCH_W=${TORCH% *}; TORCH_0=${TORCH#* }

# memory per rank: >1 GB of 32x32x3 items, packed, against the same items as a .npy
M=360000
"$PY" - "$WORK/big" "$M" <<'PY'
import os, sys
import numpy as np
out, m = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
rng = np.random.default_rng(1)
rec = rng.integers(0, 256, size=(m, 3073), dtype=np.uint8)
rec[:, 0] = rng.integers(0, 10, size=m, dtype=np.uint8)
rec.tofile(f"{out}/data_batch_1.bin")
np.save(f"{out}/items.npy", rec[:, 1:].reshape(m, 3, 32, 32))
np.save(f"{out}/labels.npy", rec[:, 0].astype(np.int64))
PY
SB=$(pack_seconds "$WORK/big/data_batch_1.bin" --out "$WORK/big.pack")
BIG_MB=$(( $(stat -c %s "$WORK/big.pack") / 1048576 ))
PACKBIG=$("$PY" -c "print($M / $SB)")
rm -f "$WORK/big/data_batch_1.bin"
cat > "$WORK/rss.py" <<'PY'
import os, resource, subprocess, sys
rc = subprocess.run(sys.argv[2:]).returncode
rank = os.environ.get("OMPI_COMM_WORLD_RANK", "0")
open(f"{sys.argv[1]}.{rank}", "w").write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024))
sys.exit(rc)
PY
COMMON="--steps 20 --set model.name=unet --set model.class_conditional=true --set model.unet.channels=8 --set model.unet.groups=4 \
  --set model.unet.channel_mult=1,2 --set model.unet.attention=false --set train.batch_size=128 --set train.log_every=10 \
  --set train.eval_every=0 --set sample.num=4 --set sample.steps=2 --set engine.threads=1"
RSS=()
mpirun --oversubscribe -n 2 "$PY" "$WORK/rss.py" "$WORK/rss-packed" build/lockstep train $COMMON --set data.name=packed \
  --set data.path="$WORK/big.pack" --out "$WORK/run-packed" >/dev/null 2>&1
mpirun --oversubscribe -n 2 "$PY" "$WORK/rss.py" "$WORK/rss-npy" build/lockstep train $COMMON --set data.name=npy \
  --set data.images="$WORK/big/items.npy" --set data.labels="$WORK/big/labels.npy" --out "$WORK/run-npy" >/dev/null 2>&1
PK0=$(cat "$WORK/rss-packed.0"); PK1=$(cat "$WORK/rss-packed.1"); NP0=$(cat "$WORK/rss-npy.0"); NP1=$(cat "$WORK/rss-npy.1")

REPORT=bench/results/data_pipeline.md
mkdir -p bench/results
"$PY" - "$REPORT" <<PY
import sys
rows = [
    ("packing $N PNGs ($FOLDER_MB MiB), 1 thread", f"{$PACK1:,.0f} images/s", "", ""),
    ("packing $N PNGs, $CORES threads", f"{$PACKN:,.0f} images/s", "", ""),
    ("packing $M CIFAR records ($BIG_MB MiB), $CORES threads", f"{$PACKBIG:,.0f} images/s ($SB s)", "", ""),
    ("feeding training, images/s per core (batch 256, xflip)", f"{$LS:,.0f}", f"{$TORCH_W:,.0f} ($CORES workers) / {$TORCH_0:,.0f} (no worker)",
     f"{$LS / $TORCH_W:.1f}x / {$LS / $TORCH_0:.1f}x"),
    ("peak RSS per rank, 2 ranks, $BIG_MB MiB data set", "$PK0 MiB, $PK1 MiB (packed)", "$NP0 MiB, $NP1 MiB (.npy, float32 copy per rank)",
     f"{($NP0 + $NP1) / ($PK0 + $PK1):.1f}x less"),
]
lines = ["Image data pipeline, $(date -u +%Y-%m-%d), $CORES cores ($(lscpu | sed -n 's/^Model name: *//p')); bench/data_pipeline.sh $N", "",
         "| measure | Lockstep | peer | ratio |", "| --- | --- | --- | --- |"]
lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
text = "\n".join(lines) + "\n"
open(sys.argv[1], "w").write(text)
print(text)
PY
