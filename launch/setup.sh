#!/usr/bin/env bash
# Installs everything Lockstep needs from Debian's archive. Idempotent and non-interactive: when every package
# is already installed it changes nothing and asks no server; otherwise it runs `apt-get update` once and
# installs what is missing. Runs as root, or through sudo.
set -euo pipefail

PACKAGES=(
  g++ make cmake ccache pkg-config git
  libtorch-dev libopenblas0-pthread libopenblas0-openmp libdnnl-dev
  libopenmpi-dev openmpi-bin
  libprotobuf-dev protobuf-compiler
  catch2 libcli11-dev nlohmann-json3-dev libcairo2-dev zlib1g-dev libstb-dev libwebp-dev
  python3-numpy python3-pil python3-torch
  dataset-fashion-mnist
  slurm-wlm munge iproute2 util-linux
  clang libclang-rt-14-dev
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then missing+=("$p"); fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# LibTorch multiplies matrices through libblas.so.3: make sure it is OpenBLAS, not the ~15x slower reference BLAS.
# (Lockstep's own binaries load the OpenMP build of OpenBLAS through their RPATH, see CMakeLists.txt; this is
# for everything else, the PyTorch baselines of the benchmarks included.)
ALT=libblas.so.3-x86_64-linux-gnu
OPENBLAS=/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
if [ -e "$OPENBLAS" ] && [ "$(readlink -f /etc/alternatives/$ALT 2>/dev/null)" != "$OPENBLAS" ]; then
  echo "setup: pointing libblas.so.3 at OpenBLAS"
  $SUDO update-alternatives --set "$ALT" "$OPENBLAS"
fi
echo "setup: all dependencies present"
