#!/usr/bin/env bash
# same_state RUN_A RUN_B TICK: whether two runs ended in the same state: their checkpoints of TICK differ at most in
# the manifest's creation time (one 8-byte double near the start of the file) and their samples.npy are equal.
same_state() {
  local a=$1/checkpoints/tick-$(printf %08d "$3").ckpt b=$2/checkpoints/tick-$(printf %08d "$3").ckpt
  [ -f "$a" ] && [ -f "$b" ] && [ "$(stat -c %s "$a")" = "$(stat -c %s "$b")" ] || return 1
  { cmp -l "$a" "$b" || true; } | awk 'NR == 1 { lo = $1 } { hi = $1 } END { exit !(NR == 0 || (hi - lo < 8 && hi < 65536)) }' || return 1
  cmp -s "$1/samples.npy" "$2/samples.npy"
}
