#!/usr/bin/env bash
# Stops what slurm-start.sh started, by its pid files only (never by process name).
set -uo pipefail
base=${MLSYS_SLURM_BASE:-/tmp/mlsys-slurm}
conf_dir=$base/slurm
munge_dir=$base/munge
export SLURM_CONF=$conf_dir/slurm.conf
stop() {
  [ -s "$1" ] || return 0
  local pid
  pid=$(cat "$1")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  rm -f "$1"
}
stop "$conf_dir/slurmd.pid"
stop "$conf_dir/slurmctld.pid"
stop "$munge_dir/munged.pid"
echo "slurm stopped"
