#!/usr/bin/env bash
# Configures and builds Lockstep into build/ (Release, ccache, precompiled headers). Used by demo.sh and test.sh.
# Arguments: CMake targets to build (default: all of them, the tests included); `launch/build.sh lockstep` builds
# only the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j"$(nproc)" "${targets[@]}"
