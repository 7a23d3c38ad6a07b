#!/usr/bin/env bash
# Two "hosts" on one machine: network namespaces ls<PID>a and ls<PID>b, each with its own hostname (unshare --uts;
# Open MPI's hwloc needs distinct names) and /etc/hosts (ip netns exec mounts /etc/netns/NS/hosts), joined by a
# bridge through veth pairs on a private subnet that exists only inside them. mpirun in the first namespace
# starts ranks in both through launch/mpirun/train_hosts.sh with a plm_rsh_agent that enters the other
# namespace instead of ssh, TCP restricted to that subnet. Checks: 20 ticks on 2 hosts end with the same final
# checkpoint (but for its creation time) and samples as 2 ranks on 1 host; a remote rank that kills itself
# ends the job non-zero within 30 s. Namespaces, bridge and files are removed on exit, also on failure, and
# everything runs under `timeout` (a partition makes Open MPI hang).
#
#   tests/launchers/test_two_hosts.sh LOCKSTEP_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
LS=$1 SRC=$2 W=$3
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (network namespaces)"; exit 77; fi
if ! ip netns add "ls-probe-$$" 2> /dev/null; then echo "SKIP: cannot create network namespaces here"; exit 77; fi
ip netns del "ls-probe-$$"
rm -rf "$W"
mkdir -p "$W"
source "$SRC/tests/launchers/same_state.sh"
A=ls$$a B=ls$$b BR=lsbr$$ NET=10.213.$(($$ % 200)).0/24
PREFIX=10.213.$(($$ % 200))
cleanup() {
  set +e
  for ns in $A $B; do
    for pid in $(ip netns pids "$ns" 2> /dev/null); do kill -9 "$pid" 2> /dev/null; done
    ip netns del "$ns" 2> /dev/null
    rm -rf "/etc/netns/$ns"
  done
  ip link del "$BR" 2> /dev/null
  ip link del "${A}v" 2> /dev/null
  ip link del "${B}v" 2> /dev/null
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$W"/*.log; do echo "--- $f"; tail -n 25 "$f"; done; exit 1; }

# network: bridge $BR (no address) <- veth -> $A (.1) and $B (.2)
ip link add "$BR" type bridge
ip link set "$BR" up
i=1
for ns in $A $B; do
  ip netns add "$ns"
  ip link add "${ns}v" type veth peer name eth0 netns "$ns"
  ip link set "${ns}v" master "$BR" up
  ip netns exec "$ns" ip addr add "$PREFIX.$i/24" dev eth0
  ip netns exec "$ns" ip link set eth0 up
  ip netns exec "$ns" ip link set lo up
  mkdir -p "/etc/netns/$ns"
  printf '127.0.0.1 localhost\n%s.1 %s\n%s.2 %s\n' "$PREFIX" "$A" "$PREFIX" "$B" > "/etc/netns/$ns/hosts"
  i=$((i + 1))
done

# the rsh agent: `AGENT HOST COMMAND...` runs COMMAND as ssh would, inside HOST's namespace under its hostname
cat > "$W/netns-rsh" <<AGENT
#!/bin/sh
host=\$1
shift
exec ip netns exec "\$host" unshare --uts sh -c "hostname \$host; \$*"
AGENT
chmod +x "$W/netns-rsh"
printf '%s slots=1\n%s slots=1\n' "$A" "$B" > "$W/two-hosts"
printf '%s slots=2\n' "$A" > "$W/one-host"
export LOCKSTEP=$LS LOCKSTEP_RSH_AGENT=$W/netns-rsh
# runs a command in host A's namespace under its hostname, at most $1 seconds
on_a() {
  local limit=$1
  shift
  timeout -k 5 "$limit" ip netns exec "$A" unshare --uts sh -c "hostname $A; exec \"\$@\"" sh "$@"
}
ARGS=(--set model.mlp.width=64 --set train.batch_size=256 --set train.eval_every=0 --set sample.num=500
  --set train.log_every=5 --set engine.threads=1)

on_a 120 "$SRC/launch/mpirun/train_hosts.sh" "$W/one-host" "$NET" "" "${ARGS[@]}" --steps 20 --out "$W/one" > "$W/one.log" 2>&1 ||
  fail "2 ranks on one host failed"
on_a 120 "$SRC/launch/mpirun/train_hosts.sh" "$W/two-hosts" "$NET" "" "${ARGS[@]}" --steps 20 --out "$W/two" > "$W/two.log" 2>&1 ||
  fail "2 ranks on two hosts failed"
grep -q "world         : 2 ranks (mpi)" "$W/two.log" || fail "two.log: not 2 MPI ranks"
grep -q "hosts         : $A (rank 0), $B (rank 1)" "$W/two.log" || fail "two.log: the ranks did not run on the two hosts"
same_state "$W/one" "$W/two" 20 || fail "2 hosts ended in another state (parameters, optimizer, samples) than 1 host"
echo "2 hosts = 1 host: identical final state and samples"

# a remote rank (rank 1 runs on host B) kills itself at tick 5
start=$(date +%s)
set +e
LOCKSTEP_FAULT=kill:1:5 on_a 60 "$SRC/launch/mpirun/train_hosts.sh" "$W/two-hosts" "$NET" "" "${ARGS[@]}" --steps 1000 --out "$W/killed" > "$W/killed.log" 2>&1
rc=$?
set -e
took=$(($(date +%s) - start))
[ $rc -ne 0 ] || fail "the job with a killed remote rank exited 0"
grep -q "signal 9" "$W/killed.log" || fail "killed.log: no word of the killed rank"
# (mpirun passes on the killed rank's status, 128 + 9 = 137; a hang would end at the 60 s timeout)
[ $took -le 30 ] || fail "the job with a killed remote rank took $took s to end"
echo "killed remote rank: job ended with exit code $rc after $took s"
echo PASS
