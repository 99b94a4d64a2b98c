// The batch's circuit breaker and the resume command it prints: which attempts count towards a
// halt, that one submission failing again and again counts once, and that a grade in between
// resets the count; the resume command repeats the options a resume must keep.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { attemptVerdict, FaultStreak, missingPackage } from '../../harness/batch/breaker.ts';
import { drive } from '../../harness/batch/controller.ts';
import { LocalPool } from '../../harness/batch/local.ts';
import { resumeCommand, resumeLines } from '../../harness/batch/resume-command.ts';
import { BatchStore, type Batch, type SubmissionState } from '../../harness/batch/state.ts';

function sub(key: string, status: SubmissionState['status'], counted = true): SubmissionState {
  return {
    schema: 'mlsys.batch-submission/1',
    key,
    index: 0,
    name: key,
    source: `/class/${key}`,
    kind: 'folder',
    hash: '0',
    code_dir: null,
    students: [],
    submitted_at: null,
    time_source: null,
    status,
    job: null,
    attempts: [{ scheduler: 'local', job: 'j', outcome: 'exit 4', exit_code: 4, host: 'node1', ended_at: '', counted }],
    score: null,
    leaderboard: [],
    message: status === 'queued' ? 'not gradable (exit 4): no bubblewrap; retrying (1 of 3 attempts used)' : '',
    flags: [],
    updated_at: '',
  };
}

describe('the fault streak', () => {
  it('counts faults of different submissions, and halts at the limit', () => {
    const s = new FaultStreak(3);
    expect(s.record(sub('a', 'queued'))).toBeNull();
    expect(s.record(sub('a', 'not_gradable'))).toBeNull(); // the same submission again
    expect(s.record(sub('b', 'queued'))).toBeNull();
    const why = s.record(sub('c', 'queued'));
    expect(why).toMatch(/3 different submissions in a row ended in a fault/);
    expect(why).toMatch(/the last: c: not gradable \(exit 4\): no bubblewrap\)$/); // without "retrying"
  });

  it('starts again after a grade, a zero for a submission that does not load included', () => {
    const s = new FaultStreak(2);
    expect(s.record(sub('a', 'queued'))).toBeNull();
    expect(s.record(sub('b', 'load_failed'))).toBeNull();
    expect(s.record(sub('c', 'queued'))).toBeNull();
    expect(s.record(sub('d', 'graded'))).toBeNull();
    expect(s.record(sub('e', 'queued'))).toBeNull();
    expect(s.record(sub('f', 'not_gradable'))).not.toBeNull();
  });

  it('halts on submissions that could not load for want of the same package the harness provides, whichever file imports it', () => {
    const s = new FaultStreak(3, ['@tensorflow/tfjs']);
    const failed = (k: string, message: string) => ({ ...sub(k, 'load_failed'), message });
    const same = "could not be loaded: Cannot find package '@tensorflow/tfjs' imported from index.ts";
    expect(s.record(failed('a', same))).toBeNull();
    expect(s.record(failed('b', 'could not be loaded: SyntaxError: Unexpected token (index.ts:3:5)'))).toBeNull(); // no missing package: starts again
    expect(s.record(failed('c', same))).toBeNull();
    expect(s.record(failed('d', same.replace('index.ts', 'model.ts')))).toBeNull(); // another file, the same package
    expect(s.record(sub('x', 'queued'))).toBeNull(); // a fault between does not break it
    const why = s.record(failed('e', same));
    expect(why).toMatch(/^3 submissions in a row could not be loaded for want of @tensorflow\/tfjs, a package the harness provides: the install is probably broken/);
    expect(s.heldPackage).toBe('@tensorflow/tfjs');
    // A grade between starts it again.
    const t = new FaultStreak(2, ['@tensorflow/tfjs']);
    t.record(failed('a', same));
    t.record(sub('b', 'graded'));
    expect(t.record(failed('c', same))).toBeNull();
    // A package the harness does not provide, imported alike by many: the students' own doing.
    const own = new FaultStreak(2, ['@tensorflow/tfjs']);
    const theirs = "could not be loaded: Cannot find package 'attention-helpers' imported from index.ts (nor is it a package the harness provides)";
    for (const k of 'abcdef') expect(own.record(failed(k, theirs))).toBeNull();
    expect(missingPackage("Cannot find package '@tensorflow/tfjs-core/dist/x' imported from index.ts")).toBe('@tensorflow/tfjs-core');
    expect(missingPackage("Cannot find module './helper' imported from index.ts")).toBeNull();
  });

  it('the controller holds back such zeros and halts, with the real local pool (a job script stands in for a node that lacks the package)', async () => {
    const out = mkdtempSync(path.join(os.tmpdir(), 'mlsys-breaker-'));
    const store = new BatchStore(out);
    const b: Batch = { ...batchOf({ halt_after: 2, concurrency: 1 }), cancelled: false, halted: null, held_package: null, entries: ['a', 'b', 'c'].map((k, index) => ({ index, key: k, name: k, current: true })) };
    store.writeBatch(b);
    for (const [index, k] of ['a', 'b', 'c'].entries()) store.writeState({ ...sub(k, 'queued'), index, attempts: [], message: '' });
    store.writeManifest(['a', 'b', 'c'].map((key, index) => ({ index, key, codeDir: null })));
    // What `mlsys grade` writes on a node whose install lacks @tensorflow/tfjs: a load failure.
    const message = "your code could not be loaded: Error: Cannot find package '@tensorflow/tfjs' imported from index.ts (nor is it a package the harness provides)";
    const run = { status: 'load_failed', cases: [{ message }], perf: [], score: { total: 0, max: 3, tasks: [] }, warnings: [], not_gradable_reason: null };
    writeFileSync(
      store.jobScript,
      `#!/bin/bash
res=$(awk -F'\\t' -v i="$MLSYS_TASK_INDEX" '$1 == i { print $4 }' ${JSON.stringify(store.manifestFile)})
mkdir -p "$res/result"
printf '%s' ${JSON.stringify(JSON.stringify(run))} > "$res/result/run.json"
printf '{"rc":3,"job":"%s","task":%d,"host":"node1","at":"now"}' "$MLSYS_JOB_ID" "$MLSYS_TASK_INDEX" > "$res/done.json"
`,
      { mode: 0o755 },
    );
    const r = await drive({ store, batch: b, scheduler: new LocalPool(1, path.join(out, 'pids')), wait: true, pollMs: 20, onChange: () => {}, say: () => {} });
    expect(r.finished).toBe(false);
    expect(store.readBatch().halted).toMatch(/could not be loaded for want of @tensorflow\/tfjs, a package the harness provides/);
    expect(store.readBatch().held_package).toBe('@tensorflow/tfjs');
    for (const k of ['a', 'b', 'c']) {
      const s = store.readState(k)!;
      expect(s.status).toBe('queued'); // none kept as a zero
      expect(s.score).toBeNull();
      expect(s.attempts.every((x) => !x.counted)).toBe(true);
    }
  });

  it('leaves out attempts cut short by the batch being stopped, and never halts at 0', () => {
    expect(attemptVerdict(sub('a', 'queued', false))).toBeNull();
    const never = new FaultStreak(0);
    for (const k of 'abcdefgh') expect(never.record(sub(k, 'queued'))).toBeNull();
  });
});

/** A batch's record, for the tests: the options given over the defaults. */
function batchOf(over: Partial<Batch['options']>): Batch {
  return {
    schema: 'mlsys.batch/1',
    id: 'x',
    project: 'p2',
    project_title: 'p2',
    submissions_dir: '/class/p2 subs',
    created_at: '',
    options: {
      scheduler: 'local',
      hidden: false,
      secret_digest: null,
      sandbox: 'required',
      tasks: null,
      regrade: 'latest',
      grade_args: ['--sandbox', 'required', '--timeout-scale', '1'],
      max_attempts: 3,
      halt_after: 5,
      concurrency: 2,
      timestamps: null,
      course: null,
      slurm: null,
      ...over,
    },
    entries: [],
    jobs: [],
    cancelled: true,
    halted: 'why',
    held_package: null,
  };
}

describe('the resume command', () => {
  const batch = batchOf;

  it('leaves out the defaults and quotes what the shell would split', () => {
    expect(resumeCommand(batch({}), '/out/p2')).toBe("mlsys batch p2 '/class/p2 subs' --out /out/p2 --resume --concurrency 2");
  });

  it('repeats a Slurm batch\'s scheduler options and the options a resume must keep, --task last', () => {
    const cmd = resumeCommand(
      batch({
        scheduler: 'slurm',
        hidden: true,
        concurrency: null,
        max_attempts: 2,
        grade_args: ['--sandbox', 'auto', '--timeout-scale', '1', '--hidden', '--task', 'attention', 'mlp'],
        slurm: { partition: 'gpu', account: null, time_minutes: 30, mem: '8G', cpus: 2, gres: null, extra: ['--qos=high'], container: null },
      }),
      '/out/p2',
    );
    expect(cmd).toBe(
      "mlsys batch p2 '/class/p2 subs' --out /out/p2 --resume --slurm --partition gpu --time-limit 30 --mem 8G --cpus 2 --gres none --sbatch-arg=--qos=high --max-attempts 2 --sandbox auto --hidden --task attention mlp",
    );
  });

  it('names the course file, and says on a line of its own that the secret must be set (never in the command)', () => {
    const b = batch({ hidden: true, course: '/staff/course.json', grade_args: ['--sandbox', 'required', '--timeout-scale', '1', '--hidden'] });
    expect(resumeLines(b, '/out/p2').split('\n')).toEqual([
      "  mlsys batch p2 '/class/p2 subs' --out /out/p2 --resume --concurrency 2 --course /staff/course.json --hidden",
      '  (with MLSYS_HIDDEN_SECRET set to the grader secret the batch was started with)',
    ]);
    const withFile = batch({ hidden: true, grade_args: ['--sandbox', 'required', '--timeout-scale', '1', '--hidden', '--secret-file', '/staff/secret'] });
    expect(resumeLines(withFile, '/out/p2').split('\n')).toHaveLength(1);
  });
});
