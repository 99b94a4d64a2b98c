// The gradebook's contents, cell by cell, from two batch folders written here (p1 with the
// `latest` policy, p2 with `best`) under the course's own course.json, as of after the last day
// of classes: weights, late hours across projects, the budget, zeros and flags.
import path from 'node:path';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { loadCourse } from '../../harness/batch/course.ts';
import { buildGradebook, loadBatchInput, withDeclaredTasks } from '../../harness/batch/gradebook.ts';
import { findProject } from '../../harness/projects.ts';
import { canvasCsv, gradebookCsv } from '../../harness/batch/gradebook-files.ts';
import { BatchStore, type Batch, type SubmissionState } from '../../harness/batch/state.ts';
import { tmpDir } from './helpers/class.ts';

type Tasks = Record<string, [points: number, max: number]>;
interface Sub {
  name: string;
  student: string;
  at: string | null;
  status: SubmissionState['status'];
  tasks?: Tasks;
  message?: string;
}

function writeBatch(dir: string, project: string, regrade: 'latest' | 'best', subs: Sub[]): void {
  const store = new BatchStore(dir);
  const batch: Batch = {
    schema: 'mlsys.batch/1',
    id: 'fixture',
    project,
    project_title: project,
    submissions_dir: '/nowhere',
    created_at: '2026-12-19T00:00:00.000Z',
    options: { scheduler: 'local', hidden: true, secret_digest: 'abcdef012345', sandbox: 'required', tasks: null, regrade, grade_args: [], max_attempts: 3, halt_after: 5, concurrency: 1, timestamps: null, course: null, slurm: null },
    entries: subs.map((s, index) => ({ index, key: `${s.name}-0`, name: s.name, current: true })),
    jobs: [],
    cancelled: false,
    halted: null,
    held_package: null,
  };
  store.writeBatch(batch);
  subs.forEach((s, index) => {
    const tasks = Object.entries(s.tasks ?? {}).map(([task, [points, max]]) => ({ task, title: task, points, max }));
    store.writeState({
      schema: 'mlsys.batch-submission/1',
      key: `${s.name}-0`,
      index,
      name: s.name,
      source: `/nowhere/${s.name}`,
      kind: 'folder',
      hash: '0',
      code_dir: null,
      students: [{ id: s.student, name: null, email: null, sid: null }],
      submitted_at: s.at,
      time_source: s.at ? 'metadata' : null,
      status: s.status,
      job: null,
      attempts: [],
      score: s.tasks ? { total: tasks.reduce((a, t) => a + t.points, 0), max: tasks.reduce((a, t) => a + t.max, 0), tasks } : null,
      leaderboard: [],
      message: s.message ?? '',
      flags: [],
      updated_at: '2026-12-19T00:00:00.000Z',
    });
  });
}

describe('the gradebook', () => {
  const root = tmpDir('gradebook');
  const p1 = path.join(root, 'p1');
  const p2 = path.join(root, 'p2');
  const full = (a: number, b: number) => ({ allreduce: [a, 10], pipeline: [b, 8] }) as Tasks;
  const half = (a: number, b: number) => ({ attention: [a, 3], flashAttention: [b, 5] }) as Tasks;
  // p1 due Fri 25 Sep 2026, p2 due Fri 16 Oct 2026, both 6 PM EDT.
  writeBatch(p1, 'p1', 'latest', [
    { name: 'ann', student: 'ann', at: '2026-09-28T13:00:00.000-04:00', status: 'graded', tasks: full(10, 8) }, // 6 + 17 + 17 + 6 = 46 h
    { name: 'ben', student: 'ben', at: '2026-09-25T12:00:00.000-04:00', status: 'graded', tasks: full(5, 4) },
    { name: 'fay', student: 'fay', at: '2026-09-25T17:59:00.000-04:00', status: 'graded', tasks: full(10, 8) },
  ]);
  writeBatch(p2, 'p2', 'best', [
    { name: 'ann__v1', student: 'ann', at: '2026-10-16T17:00:00.000-04:00', status: 'graded', tasks: half(2, 2) },
    { name: 'ann__v2', student: 'ann', at: '2026-10-17T04:00:00.000-04:00', status: 'graded', tasks: half(2, 4) }, // best; 6 h late
    { name: 'ben', student: 'ben', at: '2026-10-21T12:00:00.000-04:00', status: 'graded', tasks: half(3, 5) }, // 6 + 4 * 17 + 5 = 79 h
    { name: 'cat', student: 'cat', at: '2026-10-16T09:00:00.000-04:00', status: 'not_gradable', message: 'no GPU backend' },
    { name: 'dan', student: 'dan', at: '2026-10-16T10:00:00.000-04:00', status: 'load_failed', tasks: half(0, 0), message: 'could not be loaded: SyntaxError' },
    { name: 'eli.zip', student: 'eli', at: null, status: 'rejected', message: "the submission was refused: '../x' leads out of the folder (..)" },
  ]);
  const g = buildGradebook([loadBatchInput(p2), loadBatchInput(p1)], loadCourse(), { asOf: DateTime.fromISO('2026-12-20T12:00:00-05:00') });

  it('has one row per student with a column per task and per project, late hours and weighted totals (empty while a cell is unsettled)', () => {
    const csv = gradebookCsv(g).trimEnd().split('\n');
    expect(csv).toEqual([
      'student,name,email,sid,p1/allreduce (of 10),p1/pipeline (of 8),p1 score,p1 max,p1 status,p1 submitted at,p1 late hours,p1 points (of 18),p2/attention (of 3),p2/flashAttention (of 5),p2 score,p2 max,p2 status,p2 submitted at,p2 late hours,p2 points (of 18),late hours used,late hours left,course points (of 65),flags',
      'ann,,,,10,8,18,18,graded,2026-09-28T13:00:00.000-04:00,46,18,2,4,6,8,graded,2026-10-17T04:00:00.000-04:00,6,13.5,52,92,31.5,',
      'ben,,,,5,4,9,18,graded,2026-09-25T12:00:00.000-04:00,0,9,3,5,8,8,over_budget,2026-10-21T12:00:00.000-04:00,79,,0,144,,"p2: 79 late hours, over the 72 allowed on one project: D or F by whether it basically works (scored 8 / 8)"',
      'cat,,,,0,0,0,18,missing,,,0,,,,8,not_gradable,2026-10-16T09:00:00.000-04:00,0,,0,144,,p2: not gradable (re-run the batch with --resume): no GPU backend',
      'dan,,,,0,0,0,18,missing,,,0,0,0,0,8,load_failed,2026-10-16T10:00:00.000-04:00,0,0,0,144,0,',
      "eli,,,,0,0,0,18,missing,,,0,0,0,0,8,rejected,,,0,0,144,0,p2: the submission was refused: '../x' leads out of the folder (..) (scored 0; check it by hand)",
      'fay,,,,10,8,18,18,graded,2026-09-25T17:59:00.000-04:00,0,18,0,0,0,8,missing,,,0,0,144,18,',
    ]);
  });

  it('exports the weighted points per project for Canvas, with the points possible', () => {
    expect(canvasCsv(g).trimEnd().split('\n')).toEqual([
      'Student,ID,SIS User ID,SIS Login ID,Section,Project 1: Parallelism (p1),Project 2: Attention and KV caching (p2)',
      'Points Possible,,,,,18,18',
      'ann,,,ann,,18,13.5',
      'ben,,,ben,,9,',
      'cat,,,cat,,0,',
      'dan,,,dan,,0,0',
      'eli,,,eli,,0,0',
      'fay,,,fay,,18,0',
    ]);
  });

  it('with `latest`, the newest submission counts even when an older one scored more', () => {
    const p2latest = path.join(root, 'p2-latest');
    writeBatch(p2latest, 'p2', 'latest', [
      { name: 'ann__v1', student: 'ann', at: '2026-10-16T17:00:00.000-04:00', status: 'graded', tasks: half(3, 5) },
      { name: 'ann__v2', student: 'ann', at: '2026-10-16T17:30:00.000-04:00', status: 'graded', tasks: half(1, 0) },
    ]);
    const gl = buildGradebook([loadBatchInput(p2latest)], loadCourse(), { asOf: DateTime.fromISO('2026-11-01T12:00:00-05:00') });
    expect(gl.rows[0].projects.p2).toMatchObject({ entry: 'ann__v2', score: 1, points: 2.25, status: 'graded' });
    // As of a time between the two: the newer one was not handed in yet.
    const before = buildGradebook([loadBatchInput(p2latest)], loadCourse(), { asOf: DateTime.fromISO('2026-10-16T17:15:00-04:00') });
    expect(before.rows[0].projects.p2).toMatchObject({ entry: 'ann__v1', score: 8, status: 'graded' });
    // With only the newest graded (--regrade latest), an older one that counts as of a time was
    // never graded: unknown, never a zero.
    const superseded = path.join(root, 'p2-superseded');
    writeBatch(superseded, 'p2', 'latest', [
      { name: 'ann__v1', student: 'ann', at: '2026-10-16T17:00:00.000-04:00', status: 'superseded' },
      { name: 'ann__v2', student: 'ann', at: '2026-10-16T19:00:00.000-04:00', status: 'graded', tasks: half(1, 0) },
    ]);
    const asOfV1 = buildGradebook([loadBatchInput(superseded)], loadCourse(), { asOf: DateTime.fromISO('2026-10-16T18:30:00-04:00') });
    expect(asOfV1.rows[0].projects.p2).toMatchObject({ entry: 'ann__v1', status: 'pending', points: null });
    expect(asOfV1.rows[0].projects.p2!.note).toMatch(/only a newer one was graded/);
    expect(asOfV1.rows[0].course_points).toBeNull();
    expect(asOfV1.rows[0].flags.join(' ')).toMatch(/p2: .*resuming the batch with --regrade best/); // flagged for a person
    // And before either: nothing yet, before the deadline.
    const none = buildGradebook([loadBatchInput(p2latest)], loadCourse(), { asOf: DateTime.fromISO('2026-10-16T12:00:00-04:00') });
    expect(none.rows[0].projects.p2).toMatchObject({ entry: null, status: 'open' });
  });

  it("has a column per task of the project's own list before anything is graded, in the project's order", async () => {
    const early = path.join(root, 'p2-early');
    writeBatch(early, 'p2', 'latest', [
      { name: 'ann', student: 'ann', at: '2026-10-16T17:00:00.000-04:00', status: 'queued' },
      { name: 'ben', student: 'ben', at: '2026-10-16T17:00:00.000-04:00', status: 'graded', tasks: { generate: [4, 4] } },
    ]);
    const p2 = await findProject('p2');
    const ge = buildGradebook([await withDeclaredTasks(loadBatchInput(early))], loadCourse(), { asOf: DateTime.fromISO('2026-11-01T12:00:00-05:00') });
    expect(ge.projects[0]!.tasks.map((t) => `${t.id} of ${t.max}`)).toEqual(p2.tasks.map((t) => `${t.id} of ${t.points}`));
    expect(ge.rows.find((r) => r.student.id === 'ann')!.projects.p2).toMatchObject({ status: 'pending', tasks: { generate: null } });
    // Without the project's list (a copy that lacks the project), only what was graded.
    const bare = buildGradebook([loadBatchInput(early)], loadCourse(), { asOf: DateTime.fromISO('2026-11-01T12:00:00-05:00') });
    expect(bare.projects[0]!.tasks.map((t) => t.id)).toEqual(['generate']);
  });
});
