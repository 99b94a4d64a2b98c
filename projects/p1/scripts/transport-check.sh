#!/usr/bin/env bash
# Measures Project 1's transport target on a machine that has only a `node` binary (no
# node_modules, no network): the reference all-reduce's busbw against the memory-copy bandwidth
# between threads, for N in {2, 4, 8} at 1, 16 and 64 MiB (transport-measure.ts says how).
#
# The ranks' threads load TypeScript through module hooks (tsx, from node_modules); the kit has
# none: everything is esbuild output, plain .mjs, in one folder:
#   transport-measure.mjs  the measuring script with the ranks runtime bundled in
#   worker.mjs             harness/child/ranks/worker.ts bundled: the runtime starts each rank's
#                          thread on `new URL('./worker.mjs', import.meta.url)`, which esbuild leaves
#                          as it is, so it resolves to this file beside the bundle (prepare checks it)
#   ranks.mjs              projects/p1/ranks.ts bundled (the project's rank tasks)
#   reference.mjs          reference/p1/index.ts (the submission)
#   build.json             the commit and the sources' hashes the kit was built from
#
#   projects/p1/scripts/transport-check.sh prepare     # development machine, after `npm ci`:
#                                                      # builds .scratch/p1-transport/ (~100 KB)
#   projects/p1/scripts/transport-check.sh run [OUT]   # target machine, from the repository root
#                                                      # with .scratch/p1-transport/ there; node is
#                                                      # $NODE, else `node` on PATH; writes
#                                                      # OUT/p1-transport.md and .json (OUT defaults
#                                                      # to .scratch/p1-transport-out), prints the
#                                                      # table; at most ~50 s
#   projects/p1/scripts/transport-check.sh selftest    # development machine: copies the kit to a
#                                                      # temporary folder with no node_modules above
#                                                      # it and runs it from there (quick sizes)
# Extra arguments after OUT go to transport-measure.mjs (--budget-s S (default 45), --ranks 2,4,8, --mib 1,16,64).
set -euo pipefail
CALLER=$PWD
cd "$(dirname "$0")/../../.."
KIT=.scratch/p1-transport

prepare() {
  [ -x node_modules/.bin/esbuild ] || { echo "transport-check: node_modules/.bin/esbuild is missing (run npm ci)" >&2; exit 2; }
  rm -rf "$KIT"
  mkdir -p "$KIT"
  local eb=(node_modules/.bin/esbuild --bundle --platform=node --format=esm --target=node20 --log-level=warning)
  "${eb[@]}" projects/p1/scripts/transport-measure.ts --outfile="$KIT/transport-measure.mjs"
  "${eb[@]}" harness/child/ranks/worker.ts --outfile="$KIT/worker.mjs"
  "${eb[@]}" projects/p1/ranks.ts --outfile="$KIT/ranks.mjs"
  "${eb[@]}" reference/p1/index.ts --outfile="$KIT/reference.mjs"
  # The runtime must start the ranks' threads on the bundled worker beside it.
  grep -q 'new Worker(new URL("./worker.mjs", import.meta.url)' "$KIT/transport-measure.mjs" ||
    { echo "transport-check: the bundled runtime does not start its ranks on ./worker.mjs: the kit would not find its worker" >&2; exit 1; }
  # Nothing may import a .ts file or a package at run time: only node: built-ins.
  if grep -nE "^import .* from ['\"][^'\"]+['\"]" "$KIT"/*.mjs | grep -vE "from ['\"]node:"; then
    echo "transport-check: the kit imports something other than node: built-ins (above)" >&2; exit 1
  fi
  local srcs=(projects/p1/scripts/transport-measure.ts projects/p1/child.ts projects/p1/ranks.ts projects/p1/model.ts projects/p1/oracle.ts
    reference/p1/index.ts harness/child/clock.ts harness/child/ranks/*.ts)
  local dirty=false
  git diff --quiet HEAD -- "${srcs[@]}" 2>/dev/null && [ -z "$(git ls-files --others --exclude-standard -- "${srcs[@]}")" ] || dirty=true
  {
    printf '{\n  "commit": "%s",\n  "sourcesChangedSinceCommit": %s,\n  "built": "%s",\n  "sha256": {\n' \
      "$(git rev-parse HEAD 2>/dev/null || echo unknown)" "$dirty" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    local first=1
    for f in "${srcs[@]}" "$KIT"/*.mjs; do
      [ $first = 1 ] || printf ',\n'
      first=0
      printf '    "%s": "%s"' "$f" "$(sha256sum "$f" | cut -d' ' -f1)"
    done
    printf '\n  }\n}\n'
  } > "$KIT/build.json"
  du -sh "$KIT"
  ls -l "$KIT"
}

node_bin() {
  if [ -n "${NODE:-}" ]; then echo "$NODE"; return; fi
  command -v node || { echo "transport-check: no node: set NODE to a node binary (Node 20)" >&2; exit 2; }
}

# measure KITDIR OUT [ARGS...]
measure() {
  local kit=$1 out=$2; shift 2
  local node; node=$(node_bin)
  mkdir -p "$out"
  # --expose-gc and --disable-wasm-trap-handler: as the harness's driver runs for p1 (a full GC
  # before each prepare; the ranks' arenas as WebAssembly memories, reductions in SIMD).
  timeout 300 "$node" --expose-gc --disable-wasm-trap-handler "$kit/transport-measure.mjs" --out "$out" "$@" 2> >(tee "$out/p1-transport.log" >&2)
}

run() {
  local out=.scratch/p1-transport-out
  # OUT, when given, is relative to where the script was called from.
  if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then out=$(cd "$CALLER" && mkdir -p "$1" && cd "$1" && pwd); shift; fi
  [ -f "$KIT/transport-measure.mjs" ] || { echo "transport-check: no $KIT (run 'transport-check.sh prepare' on a development machine first)" >&2; exit 2; }
  measure "$KIT" "$out" "$@"
}

selftest() {
  [ -f "$KIT/transport-measure.mjs" ] || prepare
  local node; node=$(node_bin)
  node=$(command -v "$node")
  # A bare copy of what the target machine gets: this script and the kit, at the same places
  # under a root with no node_modules in it or above it.
  local tmp; tmp=$(mktemp -d /tmp/p1-transport-selftest.XXXXXX)
  mkdir -p "$tmp/root/.scratch" "$tmp/root/projects/p1/scripts"
  cp -r "$KIT" "$tmp/root/.scratch/"
  cp projects/p1/scripts/transport-check.sh "$tmp/root/projects/p1/scripts/"
  local d=$tmp/root
  while [ "$d" != / ]; do
    [ ! -e "$d/node_modules" ] || { echo "transport-check: $d/node_modules exists: not a clean place for the selftest" >&2; exit 1; }
    d=$(dirname "$d")
  done
  # A clean environment: no NODE_OPTIONS, NODE_PATH or PATH entry to this checkout's tools.
  (cd "$tmp/root" && env -i PATH=/usr/bin:/bin HOME="$tmp" NODE="$node" \
    bash projects/p1/scripts/transport-check.sh run "$tmp/out" "${@:---quick}")
  echo "selftest: ran from $tmp/root (kit $(du -sh "$tmp/root/.scratch/p1-transport" | cut -f1)); output in $tmp/out"
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  selftest) shift; selftest "$@" ;;
  *) sed -n '2,27p' "$0"; exit 2 ;;
esac
