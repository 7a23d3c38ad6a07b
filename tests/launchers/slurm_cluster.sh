#!/usr/bin/env bash
# A one-node SLURM cluster on this machine for tests: munged (as the munge user, with its own socket), slurmctld
# and slurmd in the foreground-mode (-D) as background processes, all state under DIR.
#
#   source tests/launchers/slurm_cluster.sh
#   slurm_cluster_start DIR CPUS   # exports SLURM_CONF; returns once the node is idle (fails after 30 s)
#   slurm_cluster_stop DIR         # stops the daemons by PID (also safe after a failed start)
#
# Facts of this kind of machine (Debian 12, root, no systemd): proctrack/linuxproc and task/none work,
# SlurmdParameters=config_overrides lets the node advertise CPUS; Debian's Open MPI works under srun --mpi=pmix.

slurm_cluster_start() {
  local dir=$1 cpus=$2 host port
  host=$(hostname)
  port=$((17000 + ($$ % 500) * 2))
  mkdir -p "$dir"/{state,spool,log,munge}
  chown munge:munge "$dir/munge"
  chmod 755 "$dir/munge"
  runuser -u munge -- /usr/sbin/munged --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/munge/munged.log" --seed-file="$dir/munge/seed" --key-file=/etc/munge/munge.key || return 1
  cat > "$dir/slurm.conf" <<CONF
ClusterName=lockstep-test
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
SlurmdParameters=config_overrides
ReturnToService=2
JobRequeue=1
MpiDefault=none
NodeName=lsnode NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=lsnode Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF=$dir/slurm.conf
  /usr/sbin/slurmctld -D -i -f "$SLURM_CONF" > "$dir/log/slurmctld.out" 2>&1 &
  echo $! > "$dir/slurmctld.bgpid"
  /usr/sbin/slurmd -D -N lsnode -f "$SLURM_CONF" > "$dir/log/slurmd.out" 2>&1 &
  echo $! > "$dir/slurmd.bgpid"
  for _ in $(seq 1 150); do
    if sinfo -h -o %T 2>/dev/null | grep -q idle; then return 0; fi
    sleep 0.2
  done
  echo "slurm_cluster_start: the node did not become idle in 30 s" >&2
  tail -n 20 "$dir"/log/*.log "$dir"/log/*.out >&2
  return 1
}

slurm_cluster_stop() {
  local dir=$1 f pid
  for f in "$dir/slurmd.bgpid" "$dir/slurmctld.bgpid" "$dir/munge/munged.pid"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2> /dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2> /dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2> /dev/null || true
    rm -f "$f"
  done
}
