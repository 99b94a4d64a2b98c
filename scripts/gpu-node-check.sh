#!/usr/bin/env bash
# Every measurement that needs the course's GPU node, in one go (a GPU node's time is scarce):
#   - Project 3's GPU targets (projects/p3/scripts/gpu-check.sh run): the reference kernels on
#     the GPU, tfjs-webgpu, same-card PyTorch baselines;
#   - Project 3's memory-bound cases again, one case per fresh process, the reference beside
#     candidate kernels (projects/p3/scripts/gpu-check.sh fresh);
#   - with MLSYS_NODE_DIAG=1 only, Project 3's diagnostic (projects/p3/scripts/gpu-check.sh diag):
#     the same memory-bound work in alternation, as the harness times it and with more arithmetic
#     before every call, to check that the GPU's clock holds for a whole process
#     (docs/gpu-results.md; the main run's "clock gauge" column now shows the same in brief);
#   - Project 1's transport target (projects/p1/scripts/transport-check.sh run): the reference
#     all-reduce's busbw against the copy bandwidth between threads, on the node's many cores.
# Prepare both kits on a development machine first (after `npm ci`):
#   projects/p3/scripts/gpu-check.sh prepare && projects/p1/scripts/transport-check.sh prepare
# then, on the GPU node, from the repository root with .scratch/gpu-check and .scratch/p1-transport
# copied there:
#   scripts/gpu-node-check.sh OUT
# OUT receives p3's machine.txt, torch.json, torch.log, gpu-measure.json, gpu-measure.log,
# gpu-results.md, gpu-fresh.{md,json} with fresh/ (one JSON and log per case), p3's diagnostic
# gpu-diag-{gc,gc-prewarm}.{json,md,log} when asked for, and p1's p1-transport.json and
# p1-transport.md.
# The steps run in that order, most needed first: OUT keeps what finished if time runs out.
# At the end OUT/all.tgz holds all of it.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/gpu-node-check.sh OUT}
mkdir -p "$out"
start=$(date +%s)
bash projects/p3/scripts/gpu-check.sh run "$out"
echo "== p3 done after $(( $(date +%s) - start )) s"
bash projects/p3/scripts/gpu-check.sh fresh "$out"
echo "== p3 fresh done after $(( $(date +%s) - start )) s"
if [ "${MLSYS_NODE_DIAG:-}" = 1 ]; then
  bash projects/p3/scripts/gpu-check.sh diag "$out"
  echo "== p3 diag done after $(( $(date +%s) - start )) s"
fi
if [ -d .scratch/p1-transport ]; then
  tmp=$(mktemp -d)
  NODE=$(command -v node || echo /tmp/mlsys-node) timeout 150 bash projects/p1/scripts/transport-check.sh run "$tmp" > "$tmp/stdout.txt" 2>&1
  echo "p1 transport exit: $?" >> "$tmp/stdout.txt"
  cp "$tmp/p1-transport.json" "$out/" 2>/dev/null
  cat "$tmp/p1-transport.md" "$tmp/stdout.txt" "$tmp/p1-transport.log" > "$out/p1-transport.md" 2>/dev/null
  cat "$tmp/p1-transport.md" 2>/dev/null || tail -30 "$tmp/stdout.txt"
fi
echo "== all done after $(( $(date +%s) - start )) s"
# Everything in one archive too, for a transfer that takes few files.
tar czf "$out/all.tgz" -C "$out" --exclude=all.tgz . && echo "packed: $out/all.tgz"
