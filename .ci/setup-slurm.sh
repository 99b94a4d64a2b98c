#!/usr/bin/env bash
# Installs and starts the one-node Slurm that the batch tests submit to (Debian 12, as root).
# Safe to run again: apt-get skips what is installed and slurm-start.sh leaves a running Slurm be.
# The tests find it at /tmp/mlsys-slurm (SLURM_CONF=/tmp/mlsys-slurm/slurm/slurm.conf).
set -euo pipefail
cd "$(dirname "$0")"
if [ "$(id -u)" != 0 ]; then echo "setup-slurm.sh: run as root (apt-get, daemons)" >&2; exit 1; fi
if ! command -v sbatch >/dev/null || ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge
fi
bash ./slurm-start.sh
