#!/usr/bin/env bash
# The parsers of untrusted bytes under libFuzzer, AddressSanitizer and UndefinedBehaviorSanitizer: builds fuzz/ with
# clang into build-fuzz/ and runs each target (config, npy, idx, checkpoint, packed) for SECONDS (default 30), starting from
# valid files of each format and the corpus of earlier runs. Any crash, sanitizer report, timeout, or exception
# other than a clean refusal fails the script, with the input saved in build-fuzz/ (libFuzzer prints its name).
# Without clang it says so and exits 0. Usage: launch/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
EACH=${1:-30}
B=${FUZZ_BUILD_DIR:-build-fuzz}
if ! command -v clang++ > /dev/null; then
  echo "fuzz: clang++ not found (launch/setup.sh installs clang and libclang-rt-14-dev); skipped"
  exit 0
fi
if [ ! -f "$B/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S fuzz -B "$B" -DCMAKE_BUILD_TYPE=RelWithDebInfo > "$B.configure.log" 2>&1 ||
    { cat "$B.configure.log"; exit 1; }
fi
cmake --build "$B" -j"$(nproc)" > "$B.build.log" 2>&1 || { tail -40 "$B.build.log"; exit 1; }
"$B/write_seeds" "$B/seeds"
for t in config npy idx checkpoint packed safetensors; do
  mkdir -p "$B/corpus/$t" "$B/findings/$t"
  echo "fuzz: $t for ${EACH} s"
  (cd "$B/findings/$t" && "../../fuzz_$t" -max_total_time="$EACH" -timeout=10 -rss_limit_mb=4096 -max_len=65536 \
      -print_final_stats=1 "../../corpus/$t" "../../seeds/$t" > "../../fuzz_$t.log" 2>&1) ||
    { tail -60 "$B/fuzz_$t.log"; echo "fuzz: $t FAILED (input in $B/findings/$t)"; exit 1; }
  grep -E 'stat::number_of_executed_units|stat::new_units_added' "$B/fuzz_$t.log" | sed "s/^/  $t: /"
done
echo "fuzz: every parser refused or accepted every input cleanly"
