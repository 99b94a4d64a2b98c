#!/usr/bin/env bash
# Measures Project 3's GPU targets on an NVIDIA node in one go (docs/gpu-results.md):
# the reference kernels at GPU sizes (through projects/p3/child.ts, each result checked against
# the oracle), the measured copy bandwidth and FMA rate, tfjs-webgpu, and the same-card PyTorch
# baselines (cuBLAS fp32 SGEMM with TF32 off, device copy, fp32 SDPA).
#
# A GPU node here has no Node.js and no Vulkan loader, and what is brought there must stay small
# (tens of MB). So:
#   projects/p3/scripts/gpu-check.sh prepare      # on a development machine, from a checkout with
#                                                 # `npm ci` done: builds .scratch/gpu-check/ (~55 MB):
#                                                 # an esbuild bundle of gpu-measure.ts, the webgpu
#                                                 # package's binary, the reference's WGSL, Node (xz),
#                                                 # the Vulkan loader and GL libraries as Debian .debs
#   projects/p3/scripts/gpu-check.sh run [OUT]    # on the GPU node, from the repository root with
#                                                 # .scratch/gpu-check/ beside it (as root: unpacks the
#                                                 # .debs into /): writes OUT/gpu-results.md (the table),
#                                                 # gpu-measure.json, torch.json, logs; prints the table
#   projects/p3/scripts/gpu-check.sh diag [OUT]   # on the GPU node: the same work measured several
#                                                 # times in alternation (gpu-measure --diag), as the
#                                                 # harness times and with extra arithmetic before
#                                                 # every call, each in a fresh process; no PyTorch
#   projects/p3/scripts/gpu-check.sh fresh [OUT]  # on the GPU node: the memory-bound cases, the reference
#                                                 # beside candidate kernels (candidates/), one case per
#                                                 # fresh process; writes OUT/gpu-fresh.{md,json}
#                                                 # (MLSYS_GPU_FRESH_ONLY="I J ...": those cases only)
#   projects/p3/scripts/gpu-check.sh selftest     # on the development machine: runs the bundle on the
#                                                 # CPU Vulkan driver at small sizes (checks the kit)
set -euo pipefail
cd "$(dirname "$0")/../../.."
KIT=.scratch/gpu-check

prepare() {
  rm -rf "$KIT"
  mkdir -p "$KIT/node_modules/webgpu/dist/linux-x64" "$KIT/ref" "$KIT/gl"
  node_modules/.bin/esbuild projects/p3/scripts/gpu-measure.ts --bundle --platform=node --format=esm --target=node20 \
    --external:webgpu --outfile="$KIT/gpu-measure.mjs" --log-level=warning \
    --banner:js="import { createRequire as __mlsysRequire } from 'node:module'; const require = __mlsysRequire(import.meta.url);"
  cp node_modules/webgpu/index.js node_modules/webgpu/package.json "$KIT/node_modules/webgpu/"
  cp node_modules/webgpu/dist/linux-x64/dawn.node "$KIT/node_modules/webgpu/dist/linux-x64/"
  cp reference/p3/*.wgsl "$KIT/ref/"
  # Candidate kernels, measured beside the reference by `fresh` (gpu-measure.ts's freshCases), if any.
  if compgen -G 'projects/p3/scripts/candidates/*.wgsl' > /dev/null; then cp projects/p3/scripts/candidates/*.wgsl "$KIT/ref/"; fi
  cp projects/p3/scripts/torch_baselines.py "$KIT/"
  xz -T0 -6 -c "$(command -v node)" > "$KIT/node.xz"
  # The Vulkan loader and the GL libraries the NVIDIA driver's Vulkan ICD links against, for amd64.
  local lists=/tmp/mlsys-apt-amd64
  mkdir -p "$lists/partial"
  local o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
  apt-get "${o[@]}" update -qq
  (cd "$KIT/gl" && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 \
    libx11-6 libxext6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0)
  du -sh "$KIT"
}

node_bin() {
  if command -v node >/dev/null 2>&1; then command -v node; return; fi
  if [ ! -x /tmp/mlsys-node ]; then
    python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open('/tmp/mlsys-node','wb'))" "$KIT/node.xz"
    chmod +x /tmp/mlsys-node
  fi
  echo /tmp/mlsys-node
}

run() {
  local out=${1:-${OUT:-/tmp/mlsys-gpu-check}}
  mkdir -p "$out"
  [ -f "$KIT/gpu-measure.mjs" ] || { echo "gpu-check: no $KIT (run 'gpu-check.sh prepare' on a development machine first)" >&2; exit 2; }
  if ! ldconfig -p | grep -q 'libvulkan.so.1'; then
    for f in "$KIT"/gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  local icd=""
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then icd=$f; break; fi
  done
  [ -n "$icd" ] || icd=$(find / -xdev -name 'nvidia_icd*.json' 2>/dev/null | head -1 || true)
  [ -n "$icd" ] && export VK_DRIVER_FILES=$icd
  for f in /usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json /usr/share/glvnd/egl_vendor.d/10_nvidia.json; do
    if [ -f "$f" ]; then export __EGL_VENDOR_LIBRARY_FILENAMES=$f; break; fi
  done
  export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
  local node; node=$(node_bin)
  { nvidia-smi || true; echo "VK_DRIVER_FILES=${icd:-none}"; "$node" --version; } > "$out/machine.txt" 2>&1
  if [ "${MLSYS_GPU_FRESH:-}" = 1 ]; then
    # One case per process: nothing else has run in the process that times it.
    local n i files=()
    n=$("$node" "$KIT/gpu-measure.mjs" --fresh --list ${MLSYS_GPU_SMALL:+--small})
    mkdir -p "$out/fresh"
    # MLSYS_GPU_FRESH_ONLY="2 7 8": only these cases of the set (a short sitting).
    for i in ${MLSYS_GPU_FRESH_ONLY:-$(seq 0 $((n - 1)))}; do
      timeout 60 "$node" --expose-gc "$KIT/gpu-measure.mjs" --ref "$KIT/ref" --fresh --only "$i" ${MLSYS_GPU_SMALL:+--small} --out "$out/fresh/$i.json" --backend "${MLSYS_GPU_BACKEND:-webgpu}" \
        > /dev/null 2> "$out/fresh/$i.log" || { echo "gpu-check: fresh case $i failed:" >&2; tail -5 "$out/fresh/$i.log" >&2; }
      [ -f "$out/fresh/$i.json" ] && files+=("$out/fresh/$i.json")
      tail -1 "$out/fresh/$i.log"
    done
    [ ${#files[@]} -gt 0 ] && "$node" "$KIT/gpu-measure.mjs" --merge "${files[@]}" --out "$out/gpu-fresh.json" > "$out/gpu-fresh.md"
    cat "$out/gpu-fresh.md" 2>/dev/null
    return
  fi
  [ "${MLSYS_GPU_DIAG:-}" = 1 ] || PYTHONUNBUFFERED=1 timeout 150 python3 "$KIT/torch_baselines.py" > "$out/torch.json" 2> "$out/torch.log" || echo '{"errors":{"run":"torch_baselines.py failed, see torch.log"}}' > "$out/torch.json"
  if [ "${MLSYS_GPU_DIAG:-}" = 1 ]; then
    # The same work in alternation, several times in one process, once per variant, each in a
    # fresh process: gc is the harness's way (a collection and its ~30 ms warm-up before every
    # call); gc-prewarm adds ~30 ms more arithmetic before every call; no-gc leaves out the
    # collection. On 2026-11-27 (before the harness's warm-up was lengthened) the kernels slowed
    # after a few cases with and without collections, because the GPU's clock fell to idle, and
    # not with the extra arithmetic (docs/gpu-results.md). Both variants fast now: the harness's
    # warm-up holds the clock.
    local v
    for v in ${MLSYS_GPU_DIAG_VARIANTS:-gc gc-prewarm}; do
      local flag=()
      case $v in no-gc) flag=(--no-gc) ;; gc-prewarm) flag=(--prewarm 20) ;; esac
      timeout 160 "$node" --expose-gc "$KIT/gpu-measure.mjs" --ref "$KIT/ref" --diag "${flag[@]}" --out "$out/gpu-diag-$v.json" --backend webgpu \
        > "$out/gpu-diag-$v.md" 2> "$out/gpu-diag-$v.log" || { echo "gpu-check: gpu-measure --diag ${flag[*]} failed:" >&2; tail -20 "$out/gpu-diag-$v.log" >&2; }
    done
    cat "$out/machine.txt"
    for v in ${MLSYS_GPU_DIAG_VARIANTS:-gc gc-prewarm}; do cat "$out/gpu-diag-$v.md" 2>/dev/null || true; done
    return
  fi
  timeout 330 "$node" --expose-gc "$KIT/gpu-measure.mjs" --ref "$KIT/ref" --torch "$out/torch.json" --out "$out/gpu-measure.json" --backend webgpu \
    > "$out/gpu-results.md" 2> "$out/gpu-measure.log" || { echo "gpu-check: gpu-measure failed:" >&2; tail -20 "$out/gpu-measure.log" >&2; }
  cat "$out/machine.txt" "$out/gpu-results.md"
}

selftest() {
  local node; node=$(command -v node)
  XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp} "$node" --expose-gc "$KIT/gpu-measure.mjs" --ref "$KIT/ref" --small --backend auto
}

case "${1:-}" in
  prepare) prepare ;;
  run) shift; run "$@" ;;
  diag) shift; MLSYS_GPU_DIAG=1 run "$@" ;;
  fresh) shift; MLSYS_GPU_FRESH=1 run "$@" ;;
  selftest) selftest ;;
  *) sed -n '2,26p' "$0"; exit 2 ;;
esac
