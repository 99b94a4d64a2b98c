// The command that takes a batch up again, as the person has to type it. --resume refuses options
// that change what a grade means (the sandbox, the tasks, hidden cases...), and a Slurm batch
// resumed without --slurm would grade on the machine it was typed on, so the command repeats the
// batch's own options, leaving out those at their defaults.
import { shellWord } from '../shell.ts';
import { DEFAULT_COURSE_FILE } from './course.ts';
import type { Batch } from './state.ts';

/** Option pairs of `grade_args` that are the defaults of `mlsys batch`: the same when left out. */
const DEFAULT_PAIRS = new Set(['--sandbox required', '--timeout-scale 1']);

function gradeWords(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (DEFAULT_PAIRS.has(`${args[i]} ${args[i + 1]}`)) i++;
    else out.push(args[i]);
  }
  return out;
}

export function resumeCommand(batch: Batch, outDir: string): string {
  const o = batch.options;
  const words = ['mlsys', 'batch', batch.project, batch.submissions_dir, '--out', outDir, '--resume'];
  if (o.scheduler === 'slurm' && o.slurm) {
    const s = o.slurm;
    words.push('--slurm');
    if (s.partition) words.push('--partition', s.partition);
    if (s.account) words.push('--account', s.account);
    words.push('--time-limit', String(s.time_minutes), '--mem', s.mem, '--cpus', String(s.cpus), '--gres', s.gres ?? 'none');
    if (s.container) words.push('--container', s.container);
    for (const x of s.extra) words.push(`--sbatch-arg=${x}`);
  }
  if (o.concurrency !== null) words.push('--concurrency', String(o.concurrency));
  if (o.max_attempts !== 3) words.push('--max-attempts', String(o.max_attempts));
  if (o.halt_after !== 5) words.push('--halt-after', String(o.halt_after));
  if (o.regrade !== 'latest') words.push('--regrade', o.regrade);
  if (o.timestamps) words.push('--timestamps', o.timestamps);
  if (o.course && o.course !== DEFAULT_COURSE_FILE) words.push('--course', o.course);
  // Last: --task takes several values.
  words.push(...gradeWords(o.grade_args));
  return words.map((w) => shellWord(w)).join(' ');
}

/** The command, indented on a line of its own, and what it needs that it cannot say. */
export function resumeLines(batch: Batch, outDir: string): string {
  // The secret is never written down: it came from the environment, and must again.
  const secret = batch.options.hidden && !batch.options.grade_args.includes('--secret-file');
  return `  ${resumeCommand(batch, outDir)}${secret ? '\n  (with MLSYS_HIDDEN_SECRET set to the grader secret the batch was started with)' : ''}`;
}
