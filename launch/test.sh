#!/usr/bin/env bash
# The test suite, from a fresh Debian 12 machine: install, build, run every test through CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
launch/build.sh
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j"$(nproc)" "$@"
