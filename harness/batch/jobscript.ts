// The job script: one task grades one submission. The same script runs under every scheduler
// (Slurm's array task, or the local pool), so what a task does is defined once, in the shell,
// and a task's result never depends on the process that started it staying alive. It finds its
// submission in manifest.tsv by index, runs `mlsys grade` into the submission's result folder
// (with --resume, so a task that died half-way keeps the cases it finished), then writes
// done.json atomically with the exit code. A task that leaves no done.json died.
import { chmodSync } from 'node:fs';
import path from 'node:path';
import { writeAtomic } from '../report/write.ts';
import { HARNESS_ROOT } from '../runner/launcher.ts';
import { shq } from '../shell.ts';
import type { Batch } from './state.ts';

/** Where the harness is inside the cluster image (see the Dockerfile). */
export const IMAGE_ROOT = '/opt/mlsys';

export function jobScript(batch: Batch, outDir: string): string {
  const manifest = path.join(outDir, 'manifest.tsv');
  const container = batch.options.slurm?.container ?? null;
  const grade = [shq(batch.project), '"$code"', '--out', '"$res/result"', '--resume', ...batch.options.grade_args.map(shq)].join(' ');
  // In an image, the harness is the image's; the batch folder is bound at the same path.
  const args = batch.options.grade_args;
  const secretAt = args.indexOf('--secret-file');
  const binds = [outDir, ...(secretAt >= 0 ? [path.dirname(args[secretAt + 1])] : [])];
  const run = container
    ? `apptainer exec --nv ${binds.map((b) => `--bind ${shq(b)}`).join(' ')} ${shq(container)} node ${shq(path.join(IMAGE_ROOT, 'bin', 'mlsys.js'))}`
    : `"$node" ${shq(path.join(HARNESS_ROOT, 'bin', 'mlsys.js'))}`;
  return `#!/bin/bash
# mlsys batch ${batch.id} (${batch.project}): one task grades one submission. Generated; edits are
# overwritten. Task index: MLSYS_TASK_INDEX (local pool) or SLURM_ARRAY_TASK_ID + MLSYS_INDEX_OFFSET.
set -u
idx=\${MLSYS_TASK_INDEX:-}
if [ -z "$idx" ] && [ -n "\${SLURM_ARRAY_TASK_ID:-}" ]; then idx=$(( SLURM_ARRAY_TASK_ID + \${MLSYS_INDEX_OFFSET:-0} )); fi
[ -n "$idx" ] || { echo "mlsys job: no task index (not an array task?)" >&2; exit 2; }
job=\${MLSYS_JOB_ID:-\${SLURM_ARRAY_JOB_ID:-\${SLURM_JOB_ID:-manual}}}
line=$(awk -F'\\t' -v i="$idx" '$1 == i { print; exit }' ${shq(manifest)})
[ -n "$line" ] || { echo "mlsys job: task $idx is not in ${manifest}" >&2; exit 2; }
IFS=$'\\t' read -r _ key code res <<<"$line"
mkdir -p "$res"
rm -f "$res/done.json"
node=${shq(process.execPath)}
[ -x "$node" ] || node=node
echo "=== job $job task $idx on $(hostname) at $(date -u +%FT%TZ)" >>"$res/grade.log"
export MLSYS_BATCH=1 # mlsys grade's advice is then for the node, not for the command line
${run} grade ${grade} >>"$res/grade.log" 2>&1
rc=$?
tmp="$res/.done.json.$$"
printf '{"rc":%d,"job":"%s","task":%d,"host":"%s","at":"%s"}\\n' "$rc" "$job" "$idx" "$(hostname)" "$(date -u +%FT%TZ)" >"$tmp" && mv -f "$tmp" "$res/done.json"
# 0 graded, 3 graded 0 (could not load): the task did its job. Anything else is for a retry.
case $rc in 0|3) exit 0 ;; *) exit "$rc" ;; esac
`;
}

export function writeJobScript(batch: Batch, outDir: string, file: string): void {
  writeAtomic(file, jobScript(batch, outDir));
  chmodSync(file, 0o755);
}
