#!/usr/bin/env bash
# The test suite, from a fresh Debian 12 machine: install, build everything, run every test through CTest.
# Extra arguments go to ctest: `launch/test.sh -LE long` skips the long end-to-end cases, `-L mpi` runs only the
# mpiexec jobs, `-R config` the tests whose name matches. Then launch/fuzz.sh runs the parsers under libFuzzer
# (LOCKSTEP_FUZZ_SECONDS=0 skips it).
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh
launch/build.sh
# The engine's tests start real mpiexec jobs; Open MPI refuses to run as root unless told it may.
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
(cd "${BUILD_DIR:-build}" && ctest --output-on-failure -j"$(nproc)" "$@")
# The parsers under libFuzzer with ASan and UBSan, about 30 s each (LOCKSTEP_FUZZ_SECONDS; 0 skips it).
if [ "${LOCKSTEP_FUZZ_SECONDS:-30}" != 0 ]; then launch/fuzz.sh "${LOCKSTEP_FUZZ_SECONDS:-30}"; fi
