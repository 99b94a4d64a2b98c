#!/usr/bin/env bash
# Installs the system packages the tests need (Debian 12, as root):
#  - Mesa's CPU Vulkan driver (lavapipe) from bookworm-backports: Debian 12's own Mesa 22.3 gives
#    Dawn no adapter, Mesa 25 does;
#  - bubblewrap, the sandbox for submissions.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "setup-system.sh: run as root (apt-get)" >&2; exit 1; fi
src=/etc/apt/sources.list.d/debian.sources
if [ -f "$src" ] && ! grep -q bookworm-backports "$src"; then
  sed -i 's/^Suites: bookworm bookworm-updates$/& bookworm-backports/' "$src"
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends bubblewrap util-linux
# hnswlib-node (Project 4's baseline) builds from source with node-gyp.
apt-get install -y -q --no-install-recommends g++ make python3
apt-get install -y -q --no-install-recommends -t bookworm-backports mesa-vulkan-drivers libvulkan1
