// results.json in Gradescope's autograder format: one test per task and visibility for
// correctness, one per task for speed, and leaderboard entries from the speedups.
import type { Project } from '../project.ts';
import type { RunRecord } from './schema.ts';

export interface GradescopeTest {
  name: string;
  number: string;
  score: number;
  max_score: number;
  status: 'passed' | 'failed';
  output: string;
  visibility: 'visible' | 'hidden' | 'after_due_date' | 'after_published';
  tags: string[];
}

export interface GradescopeResults {
  score: number;
  execution_time: number;
  output: string;
  visibility: 'visible' | 'after_published';
  stdout_visibility: 'hidden' | 'visible';
  tests: GradescopeTest[];
  leaderboard: { name: string; value: number; order: 'asc' | 'desc' }[];
}

const r2 = (x: number) => Math.round(x * 100) / 100;

export function toGradescope(project: Project, run: RunRecord, executionSeconds: number, headline: string): GradescopeResults {
  const tests: GradescopeTest[] = [];
  const leaderboard: GradescopeResults['leaderboard'] = [];
  project.tasks.forEach((task, ti) => {
    const ts = run.score?.tasks.find((t) => t.task === task.id);
    if (!ts) return;
    const cases = run.cases.filter((c) => c.task === task.id);
    const perCase = cases.length ? ts.correctness_max / cases.length : 0;
    let n = 1;
    for (const vis of ['public', 'hidden'] as const) {
      const mine = cases.filter((c) => c.visibility === vis);
      if (!mine.length) continue;
      const passed = mine.filter((c) => c.status === 'passed');
      const lines = mine.map((c) =>
        c.status === 'passed'
          ? `PASS ${vis === 'public' ? c.id : `hidden case ${c.index}`} (${c.label})`
          : `FAIL ${vis === 'public' ? `${c.id} (${c.label}, seed ${c.seed})` : `hidden case ${c.index} (${c.label})`}: ${c.message}`,
      );
      tests.push({
        name: `${project.id}/${task.id}: ${task.title} (${vis} cases)`,
        number: `${ti + 1}.${n++}`,
        score: r2(perCase * passed.length),
        max_score: r2(perCase * mine.length),
        status: passed.length === mine.length ? 'passed' : 'failed',
        output: lines.join('\n'),
        visibility: vis === 'public' ? 'visible' : 'after_due_date',
        tags: [project.id, task.id, vis],
      });
    }
    if (task.perf) {
      const perf = run.perf_tasks.find((p) => p.task === task.id);
      tests.push({
        name: `${project.id}/${task.id}: speed`,
        number: `${ti + 1}.${n++}`,
        score: ts.performance,
        max_score: ts.performance_max,
        status: ts.performance >= ts.performance_max - 1e-9 ? 'passed' : 'failed',
        output: ts.note,
        visibility: 'visible',
        tags: [project.id, task.id, 'performance'],
      });
      if (perf?.speedup_vs_reference != null)
        leaderboard.push({ name: `${task.id} speedup`, value: r2(perf.speedup_vs_reference), order: 'desc' });
    }
  });
  return {
    score: r2(run.score?.total ?? 0),
    execution_time: Math.round(executionSeconds),
    output: headline,
    visibility: 'visible',
    stdout_visibility: 'hidden',
    tests,
    leaderboard,
  };
}
