#!/usr/bin/env bash
# same_state RUN_A RUN_B TICK: whether two runs ended in the same state: their checkpoints of TICK hold manifests of
# the same length (the same config and parameters; the runs' identities and creation times differ) and the same
# payload bytes (parameters, optimizer state, EMA), and their samples.npy are equal. Checkpoint layout:
# common/checkpoint/checkpoint_file.h (8-byte magic, 8-byte manifest length, 4-byte CRC, manifest, payloads).
same_state() {
  local a=$1/checkpoints/tick-$(printf %08d "$3").ckpt b=$2/checkpoints/tick-$(printf %08d "$3").ckpt
  [ -f "$a" ] && [ -f "$b" ] && [ "$(stat -c %s "$a")" = "$(stat -c %s "$b")" ] || return 1
  local la lb
  la=$(od -An -t u8 -j 8 -N 8 "$a" | tr -d ' ') lb=$(od -An -t u8 -j 8 -N 8 "$b" | tr -d ' ')
  [ "$la" = "$lb" ] || return 1
  cmp -s <(tail -c +$((20 + la + 1)) "$a") <(tail -c +$((20 + lb + 1)) "$b") || return 1
  cmp -s "$1/samples.npy" "$2/samples.npy"
}
