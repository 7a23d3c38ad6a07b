#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install, build the binary (not the tests), train the embedded
# default config (2-D checkerboard, conditional flow matching), sample from it, and say where the picture is.
# Extra arguments go to `lockstep train` (for example: --steps 2000, or a config file).
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
launch/build.sh lockstep
OUT=runs/demo-$(date +%Y%m%d-%H%M%S)
build/lockstep train --out "$OUT" "$@"
echo
echo "demo: the run is in $OUT; samples (left) against data (right): $OUT/samples.png"
