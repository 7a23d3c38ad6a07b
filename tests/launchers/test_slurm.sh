#!/usr/bin/env bash
# A real one-node SLURM cluster runs launch/slurm/train.sbatch with 2 tasks (srun --mpi=pmix), then the same job
# preempted with `scancel --signal=USR1`: it checkpoints, requeues itself, resumes, and must end with the same
# final checkpoint (parameters, Adam state, EMA: every byte but the creation time) as the uninterrupted job. Then launch/slurm/sample.sbatch on 2 tasks must
# write the bytes that one process writes. Every daemon is stopped by PID on exit, also on failure.
#
#   tests/launchers/test_slurm.sh LOCKSTEP_BINARY SOURCE_DIR WORK_DIR
set -euo pipefail
LS=$1 SRC=$2 W=$3
if [ "$(id -u)" -ne 0 ]; then echo "SKIP: needs root (slurmd, munged as the munge user)"; exit 77; fi
for tool in slurmctld slurmd munged sbatch; do
  command -v $tool > /dev/null || [ -x /usr/sbin/$tool ] || { echo "FAIL: $tool not installed (launch/setup.sh installs slurm-wlm and munge)"; exit 1; }
done
rm -rf "$W"
mkdir -p "$W"
source "$SRC/tests/launchers/slurm_cluster.sh"
source "$SRC/tests/launchers/same_state.sh"
trap 'slurm_cluster_stop "$W/cluster"' EXIT
t0=$(date +%s%N)
slurm_cluster_start "$W/cluster" 4
echo "cluster up in $((($(date +%s%N) - t0) / 1000000)) ms"
export LOCKSTEP=$LS

fail() { echo "FAIL: $*"; for f in "$W"/*.out "$W"/cluster/log/slurmctld.log; do echo "--- $f"; tail -n 30 "$f"; done; exit 1; }
state() { scontrol show job -o "$1" 2> /dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
# Waits until job $1 ends (COMPLETED, FAILED, ...), at most $2 seconds; echoes the final state.
wait_job() {
  local id=$1 limit=$2 s start
  start=$(date +%s)
  while true; do
    s=$(state "$id")
    case $s in
      COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE) echo "$s"; return 0 ;;
    esac
    if [ $(($(date +%s) - start)) -gt "$limit" ]; then echo "TIMEOUT_WAITING($s)"; return 0; fi
    sleep 0.3
  done
}

# A 2-D MLP, 2 ranks, 3000 ticks of 2048 points: a few seconds, long enough to be signalled early on (the fast 2-D
# step ran 1500 ticks of 512 in under 2 s, less than SLURM sometimes took to deliver the signal).
TRAIN_ARGS=(--steps 3000 --set model.mlp.width=128 --set train.batch_size=2048 --set train.checkpoint_every=250
  --set train.log_every=10 --set train.eval_every=0 --set sample.num=1000 --set engine.check_every=50)

# 1. the uninterrupted job
id=$(LOCKSTEP_RUN=$W/ref sbatch --parsable -n 2 --cpus-per-task=1 -J ref -o "$W/ref.out" --chdir="$W" \
  "$SRC/launch/slurm/train.sbatch" "" "${TRAIN_ARGS[@]}")
s=$(wait_job "$id" 300)
[ "$s" = COMPLETED ] || fail "job $id (uninterrupted) ended $s"
grep -q "lockstep job finished" "$W/ref.out" || fail "ref.out lacks the finish line"
grep -q "world         : 2 ranks (shm)" "$W/ref.out" || fail "ref.out: the job did not run 2 MPI ranks (summing in shared memory on its one node)"
grep -q '"energy_distance"' "$W/ref/metrics.jsonl" || fail "the job wrote no final metrics"
echo "uninterrupted job $id: $s"

# 2. the same job, signalled with SIGUSR1 half-way through
id=$(LOCKSTEP_RUN=$W/pre sbatch --parsable -n 2 --cpus-per-task=1 -J pre -o "$W/pre.out" --chdir="$W" \
  "$SRC/launch/slurm/train.sbatch" "" "${TRAIN_ARGS[@]}")
for _ in $(seq 1 600); do  # until training has passed tick 100 (SLURM takes a moment to deliver the signal)
  if [ -f "$W/pre/metrics.jsonl" ] && [ "$(grep -c '"loss"' "$W/pre/metrics.jsonl")" -ge 10 ]; then break; fi
  sleep 0.1
done
[ "$(state "$id")" = RUNNING ] || fail "job $id is not running before the signal: $(state "$id")"
scancel --signal=USR1 "$id"
for _ in $(seq 1 300); do  # the script requeues the job; SLURM holds a requeued job for two minutes: release it sooner
  if scontrol show job -o "$id" | grep -q 'Restarts=1' && [ "$(state "$id")" = PENDING ]; then break; fi
  sleep 0.1
done
scontrol show job -o "$id" | grep -q 'Restarts=1' || fail "job $id was not requeued after SIGUSR1"
# (not at once: slurmd revokes the old run's credential, and a start within the same second is refused)
scontrol update JobId="$id" StartTime=now+5
s=$(wait_job "$id" 300)
[ "$s" = COMPLETED ] || fail "job $id (preempted) ended $s"
grep -q "SIGUSR1 received: stopped after tick" "$W/pre.out" || fail "pre.out: no checkpoint on SIGUSR1"
grep -q "preempted (exit 75)" "$W/pre.out" || fail "pre.out: the script did not see exit code 75"
grep -q "resuming      : " "$W/pre.out" || fail "pre.out: the requeued job did not resume"
grep -q "lockstep job finished" "$W/pre.out" || fail "pre.out lacks the finish line"
same_state "$W/ref" "$W/pre" 3000 || fail "the preempted job ended in another state than the uninterrupted one"
echo "preempted job $id: requeued, resumed, final checkpoint identical"

# 3. distributed sampling: 2 tasks write the bytes of one process
id=$(sbatch --parsable -n 2 --cpus-per-task=1 -o "$W/sample.out" --chdir="$W" "$SRC/launch/slurm/sample.sbatch" \
  "$W/ref" "$W/two.npy" --num 20000 --steps 10)
s=$(wait_job "$id" 300)
[ "$s" = COMPLETED ] || fail "sampling job $id ended $s"
"$LS" sample "$W/ref" --num 20000 --steps 10 --out "$W/one.npy" > "$W/one.out" 2>&1 || fail "sampling in one process failed"
cmp "$W/one.npy" "$W/two.npy" || fail "2 SLURM tasks sampled other bytes than one process"
echo "sampling job $id: identical to one process"
echo "PASS ($((($(date +%s%N) - t0) / 1000000)) ms)"
