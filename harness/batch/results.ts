// Reads what `mlsys grade` wrote into a submission's result folder: the points per task (run.json)
// and the leaderboard entries (results.json). Only the fields used here are checked, so that the
// gradebook keeps working as run.json grows fields.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { SubmissionState } from './state.ts';

const runView = z.object({
  status: z.enum(['running', 'complete', 'load_failed', 'not_gradable']),
  cases: z.array(z.object({ message: z.string() }).loose()),
  perf: z.array(z.object({ flags: z.array(z.string()) }).loose()),
  score: z
    .object({
      total: z.number(),
      max: z.number(),
      tasks: z.array(z.object({ task: z.string(), title: z.string(), correctness: z.number(), correctness_max: z.number(), performance: z.number(), performance_max: z.number() }).loose()),
    })
    .nullable(),
  warnings: z.array(z.string()),
  not_gradable_reason: z.string().nullable(),
});

const resultsView = z.object({
  score: z.number(),
  leaderboard: z.array(z.object({ name: z.string(), value: z.number(), order: z.enum(['asc', 'desc']) })).optional(),
});

export interface GradeReading {
  status: 'complete' | 'load_failed' | 'not_gradable' | 'running' | 'missing';
  score: SubmissionState['score'];
  leaderboard: SubmissionState['leaderboard'];
  flags: string[];
  message: string;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

function readJson<S extends z.ZodType>(file: string, schema: S): z.infer<S> | null {
  if (!existsSync(file)) return null;
  try {
    const r = schema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export function readGrade(resultDir: string): GradeReading {
  const run = readJson(path.join(resultDir, 'run.json'), runView);
  const results = readJson(path.join(resultDir, 'results.json'), resultsView);
  if (!run) return { status: 'missing', score: null, leaderboard: [], flags: [], message: 'no readable run.json' };
  const score = run.score
    ? {
        total: run.score.total,
        max: run.score.max,
        tasks: run.score.tasks.map((t) => ({ task: t.task, title: t.title, points: r2(t.correctness + t.performance), max: r2(t.correctness_max + t.performance_max) })),
      }
    : null;
  const flags = [
    ...run.perf.flatMap((p) => p.flags.filter((f) => /flagged|implausible|disagree/i.test(f))),
    ...run.warnings.filter((w) => /WITHOUT a sandbox/.test(w)),
  ];
  const why = oneLine(run.cases[0]?.message ?? 'no entry file');
  const message =
    run.status === 'load_failed' ? (/could not be loaded/.test(why) ? why : `could not be loaded: ${why}`) : run.status === 'not_gradable' ? oneLine(run.not_gradable_reason ?? '') : '';
  return { status: results || run.status !== 'complete' ? run.status : 'missing', score, leaderboard: results?.leaderboard ?? [], flags, message };
}

/** A message on one line, short enough for a CSV cell. */
function oneLine(s: string, max = 300): string {
  const t = s
    .split('\n')
    .filter((l) => !/^\s+at /.test(l)) // stack frames: in run.json for whoever needs them
    .join(' ')
    .replace(/\s+/g, ' ')
    .trim();
  return t.length > max ? `${t.slice(0, max - 3)}...` : t;
}

/** The last lines of a grade's log, for a message when nothing else says what happened (the job script's own header lines left out). */
export function logTail(file: string, lines = 5): string {
  if (!existsSync(file)) return '';
  return readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .filter((l) => !l.startsWith('=== job '))
    .slice(-lines)
    .join('\n');
}
