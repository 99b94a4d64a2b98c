#!/usr/bin/env bash
# Starts a one-node Slurm for the tests (Debian 12's Slurm 22.05): root, no systemd, no cgroups,
# no accounting database, one fake GPU (a character device) so that --gres=gpu:1 schedules.
# Idempotent: when the controller already answers and the node is usable, it does nothing.
#   MLSYS_SLURM_BASE   state, logs and config (default /tmp/mlsys-slurm)
#   then: export SLURM_CONF=$MLSYS_SLURM_BASE/slurm/slurm.conf
set -euo pipefail
base=${MLSYS_SLURM_BASE:-/tmp/mlsys-slurm}
conf_dir=$base/slurm
munge_dir=$base/munge
export SLURM_CONF=$conf_dir/slurm.conf

node_state() { sinfo -h -N -n localhost -o '%T' 2>/dev/null | head -1 | tr -d '*~#!%$@^-'; }
usable() { case "$(node_state)" in idle|mixed|allocated|completing) return 0 ;; *) return 1 ;; esac; }

if [ -f "$SLURM_CONF" ] && scontrol ping 2>/dev/null | grep -q 'is UP' && usable; then
  echo "slurm already running: export SLURM_CONF=$SLURM_CONF"
  exit 0
fi

for cmd in slurmctld slurmd munged sbatch; do
  command -v "$cmd" >/dev/null || { echo "slurm-start: $cmd not found; run .ci/setup-slurm.sh (apt-get) first" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "slurm-start: run as root (the daemons run as root here)" >&2; exit 1; }

# Whatever is left of an earlier start (stale pid files, daemons that no longer answer).
stop_pidfile() { [ -s "$1" ] && kill "$(cat "$1")" 2>/dev/null || true; rm -f "$1"; }
stop_pidfile "$conf_dir/slurmctld.pid"
stop_pidfile "$conf_dir/slurmd.pid"

mkdir -p "$munge_dir" "$conf_dir/state" "$conf_dir/spool" "$conf_dir/log"
chmod 755 "$munge_dir"
# gres needs a device file; /dev/null's numbers make a harmless one.
[ -c "$conf_dir/fakegpu0" ] || { rm -f "$conf_dir/fakegpu0"; mknod "$conf_dir/fakegpu0" c 1 3; }
cpus=$(nproc)
# Ask for less memory than the machine has, so that --mem requests fit (nothing enforces it here).
mem_mb=$(awk '/MemTotal/ { print int($2 / 1024 * 0.8) }' /proc/meminfo)

cat >"$SLURM_CONF" <<CONF
ClusterName=mlsys-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_dir/munge.socket.2
SlurmctldPort=${MLSYS_SLURMCTLD_PORT:-6817}
SlurmdPort=${MLSYS_SLURMD_PORT:-6818}
StateSaveLocation=$conf_dir/state
SlurmdSpoolDir=$conf_dir/spool
SlurmctldPidFile=$conf_dir/slurmctld.pid
SlurmdPidFile=$conf_dir/slurmd.pid
SlurmctldLogFile=$conf_dir/log/slurmctld.log
SlurmdLogFile=$conf_dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$conf_dir/log/jobcomp.txt
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
MinJobAge=300
KillWait=5
GresTypes=gpu
NodeName=localhost CPUs=$cpus RealMemory=$mem_mb Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
echo "NodeName=localhost Name=gpu File=$conf_dir/fakegpu0" >"$conf_dir/gres.conf"

[ -s "$munge_dir/munge.key" ] || mungekey --create --keyfile="$munge_dir/munge.key"
chmod 600 "$munge_dir/munge.key"
if ! munge --socket="$munge_dir/munge.socket.2" -n 2>/dev/null | unmunge --socket="$munge_dir/munge.socket.2" >/dev/null 2>&1; then
  munged --force --socket="$munge_dir/munge.socket.2" --key-file="$munge_dir/munge.key" \
    --pid-file="$munge_dir/munged.pid" --log-file="$munge_dir/munged.log" --seed-file="$munge_dir/munged.seed"
fi

slurmctld
slurmd -N localhost # the host is called localhost in the config, whatever its real name
for _ in $(seq 60); do
  state=$(node_state)
  case "$state" in
    idle|mixed|allocated) echo "slurm ready: export SLURM_CONF=$SLURM_CONF"; exit 0 ;;
    down|drained|draining) scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true ;;
  esac
  sleep 0.5
done
echo "slurm-start: the node did not become idle; see $conf_dir/log" >&2
exit 1
