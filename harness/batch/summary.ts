// The merged summary of a batch, rewritten as results come in: summary.json and summary.csv (one
// row per submission, whatever became of it), and at the end the batch's own gradebook and
// leaderboard.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { writeAtomic } from '../report/write.ts';
import { DEFAULT_COURSE_FILE, loadCourse, type Course } from './course.ts';
import { buildGradebook, withDeclaredTasks } from './gradebook.ts';
import { writeGradebook } from './gradebook-files.ts';
import { writeLeaderboard } from './leaderboard.ts';
import { countStates } from './progress.ts';
import type { Batch, SubmissionState } from './state.ts';

/**
 * `started`: the indices the scheduler reports running, when known; a submission handed to the
 * scheduler but not started yet (waiting for a free slot, pending in Slurm's queue) shows as
 * queued.
 */
export function writeSummary(outDir: string, batch: Batch, states: SubmissionState[], started?: Set<number>): void {
  const rows = states.map((s) => ({
    index: s.index,
    entry: s.name,
    students: s.students.map((x) => x.id).join(';'),
    status: s.status === 'running' && started && !started.has(s.index) ? 'queued' : s.status,
    score: s.score?.total ?? (s.status === 'load_failed' || s.status === 'rejected' ? 0 : null),
    max: s.score?.max ?? null,
    submitted_at: s.submitted_at,
    // Those that count against --max-attempts: not those cut short by the batch being stopped.
    attempts: s.attempts.filter((a) => a.counted).length,
    result: path.join('subs', s.key, 'result'),
    message: s.message,
    flags: s.flags,
  }));
  const summary = { schema: 'mlsys.batch-summary/1', project: batch.project, batch: batch.id, updated_at: new Date().toISOString(), halted: batch.halted, counts: countStates(states), submissions: rows };
  writeAtomic(path.join(outDir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  const header = ['index', 'entry', 'students', 'status', 'score', 'max', 'submitted_at', 'attempts', 'result', 'message', 'flags'];
  writeAtomic(
    path.join(outDir, 'summary.csv'),
    stringify([header, ...rows.map((r) => [r.index, r.entry, r.students, r.status, r.score ?? '', r.max ?? '', r.submitted_at ?? '', r.attempts, r.result, r.message, r.flags.join(' | ')])]),
  );
}

/** The batch's gradebook (this project alone) and leaderboard, written when the batch is done. */
export async function writeBatchReports(outDir: string, batch: Batch, states: SubmissionState[], courseFile?: string): Promise<string[]> {
  const file = courseFile ?? DEFAULT_COURSE_FILE;
  let course: Course | null = null;
  if (courseFile || existsSync(file)) course = loadCourse(file);
  const written = [writeLeaderboard(outDir, batch, states)];
  if (course) written.push(...writeGradebook(buildGradebook([await withDeclaredTasks({ dir: outDir, batch, states })], course), outDir));
  return written;
}
