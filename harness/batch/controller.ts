// The batch controller: submits the queued submissions as one array, polls the scheduler, reads
// each finished task's done.json and result, retries what died or was not gradable (up to
// --max-attempts), and records every step in the submission's state.json as it happens. It never
// turns a fault into a score: what still fails after its attempts is "not gradable". Faults in
// submission after submission halt the batch (breaker.ts).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HARNESS_ROOT } from '../runner/launcher.ts';
import { FaultStreak, missingPackage } from './breaker.ts';
import { readGrade, logTail } from './results.ts';
import { taskKey, type JobRef, type Scheduler, type TaskReport } from './scheduler.ts';
import { isFinal, type Attempt, type Batch, type BatchStore, type SubmissionState } from './state.ts';

export interface DriveOptions {
  store: BatchStore;
  batch: Batch;
  scheduler: Scheduler;
  /** Keep polling until every submission is finished; false: submit, collect what is done, return. */
  wait: boolean;
  pollMs: number;
  /** Called after each pass that changed something (summary files, progress); `started`: indices the scheduler reports running. */
  onChange: (states: SubmissionState[], started: Set<number>) => void;
  /** A line for the person watching. */
  say: (line: string) => void;
}

export interface DriveResult {
  finished: boolean;
  states: SubmissionState[];
  /** Indices the scheduler reported running (the others in flight wait for a slot). */
  started: Set<number>;
}

const now = () => new Date().toISOString();

/** The packages the harness provides to submissions: its own dependencies. */
function providedPackages(): string[] {
  try {
    const pkg = JSON.parse(readFileSync(path.join(HARNESS_ROOT, 'package.json'), 'utf8')) as { dependencies?: object; optionalDependencies?: object };
    return [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];
  } catch {
    return [];
  }
}

/** The scheduler's name for the batch's jobs: how a stray one is recognised. */
export const jobName = (batch: Batch): string => `mlsys-${batch.project}-${batch.id}`;

/** Applies one finished (or dead) task to its state. Exported for the tests of the rules. */
export function settle(s: SubmissionState, report: TaskReport, store: BatchStore, schedulerName: string, maxAttempts: number): void {
  const job = s.job!;
  const done = store.readDone(s.key);
  const mine = done && done.job === job.id && done.task === s.index;
  const attempt: Attempt = {
    scheduler: job.scheduler,
    job: job.id,
    outcome: mine ? `exit ${done.rc}` : report.detail || report.phase,
    exit_code: mine ? done.rc : null,
    host: mine ? done.host : null,
    ended_at: now(),
    // A task lost with the local controller that ran it was cut short by the batch being
    // stopped, not by the submission or the machine.
    counted: !(report.phase === 'lost' && schedulerName === 'local' && !mine),
  };
  if (!attempt.counted) attempt.outcome = 'interrupted: the batch was stopped before it finished';
  s.attempts.push(attempt);
  s.job = null;
  let fault: string;
  if (mine && (done.rc === 0 || done.rc === 3)) {
    const g = readGrade(store.resultDir(s.key));
    const expected = done.rc === 0 ? 'complete' : 'load_failed';
    if (g.status === expected) {
      s.status = done.rc === 0 ? 'graded' : 'load_failed';
      s.score = g.score;
      s.leaderboard = g.leaderboard;
      s.flags = g.flags;
      s.message = g.message;
      return;
    }
    fault = `mlsys grade exited ${done.rc} but its results are ${g.status === 'missing' ? 'missing' : `'${g.status}'`}`;
  } else if (mine && done.rc === 2) {
    // Bad usage is the batch's own options: the same every time, so not retried.
    s.status = 'not_gradable';
    s.message = `mlsys grade refused its arguments (exit 2): ${logTail(path.join(store.subDir(s.key), 'grade.log'), 3)}`;
    return;
  } else if (mine) {
    const g = readGrade(store.resultDir(s.key));
    const why = g.status !== 'missing' && g.message ? g.message : logTail(path.join(store.subDir(s.key), 'grade.log'), 2).replace(/\s+/g, ' ');
    fault = done.rc === 4 ? `not gradable (exit 4): ${why}` : `mlsys grade ended with exit ${done.rc}: ${why}`;
  } else fault = `the task left no result: ${attempt.outcome}`;
  const used = s.attempts.filter((a) => a.counted).length;
  if (used < maxAttempts) {
    s.status = 'queued';
    s.message = `${fault}; retrying (${used} of ${maxAttempts} attempts used)`;
  } else {
    s.status = 'not_gradable';
    s.score = null;
    s.message = `not gradable after ${used} attempts (a harness or machine fault, never a zero; re-run with --resume): ${fault}`;
  }
}

function inFlight(states: SubmissionState[]): JobRef[] {
  const jobs = new Map<string, number[]>();
  for (const s of states) if (s.status === 'running' && s.job) jobs.set(s.job.id, [...(jobs.get(s.job.id) ?? []), s.index]);
  return [...jobs].map(([id, indices]) => ({ id, indices }));
}

export async function drive(o: DriveOptions): Promise<DriveResult> {
  const { store, batch, scheduler } = o;
  const byIndex = new Map<number, SubmissionState>();
  const current = new Set(batch.entries.filter((e) => e.current).map((e) => e.key));
  // Submissions of this run of the batch: the current entries, and any older one still in flight.
  for (const s of store.allStates()) if (current.has(s.key) || s.status === 'running') byIndex.set(s.index, s);
  const states = () => [...byIndex.values()].sort((a, b) => a.index - b.index);
  const started = new Set<number>();
  const streak = new FaultStreak(batch.options.halt_after, providedPackages());
  let first = true;
  for (;;) {
    let changed = first;
    first = false;

    // 1. What the scheduler says of the tasks in flight.
    const flying = inFlight(states());
    let haltWhy: string | null = null;
    if (flying.length) {
      const reports = await scheduler.poll(flying);
      for (const s of states()) {
        if (s.status !== 'running' || !s.job) continue;
        const r = reports.get(taskKey(s.job.id, s.index));
        if (!r || r.phase === 'pending' || r.phase === 'running') {
          if (r?.phase === 'running' && !started.has(s.index)) {
            started.add(s.index);
            changed = true;
          }
          continue;
        }
        started.delete(s.index);
        // A task from an earlier run of a local batch may still be alive: stop it before it is run again.
        if (r.phase === 'lost' && scheduler.name === 'local') await scheduler.cancel({ id: s.job.id, indices: [s.index] });
        settle(s, r, store, scheduler.name, batch.options.max_attempts);
        store.writeState(s);
        changed = true;
        const who = s.students.map((x) => x.id).join(', ');
        if (isFinal(s.status)) o.say(`${s.name} (${who}): ${describe(s)}`);
        else o.say(`${s.name} (${who}): ${s.message}`);
        const why = streak.record(s); // every one recorded, also after the streak has tripped
        haltWhy ??= why;
        if (batch.halted) {
          // One more zero like those the halt holds back (it was running then, or is collected later).
          if (isHeldZero(s, batch)) holdZero(s);
          hold(s, store);
        }
      }
    }
    // After the whole pass, so that `started` knows every task the scheduler has begun.
    if (haltWhy && !batch.halted) await halt(o, haltWhy, states(), started, streak.heldPackage);

    // 2. Submit what is queued, as one array.
    const queued = states().filter((s) => s.status === 'queued');
    if (queued.length && !batch.cancelled) {
      const jobs = await scheduler.submit({
        script: store.jobScript,
        indices: queued.map((s) => s.index),
        name: jobName(batch),
        logDir: path.join(store.outDir, 'logs'),
      });
      for (const j of jobs) {
        batch.jobs.push({ id: j.id, scheduler: scheduler.name, indices: j.indices, submitted_at: now() });
        for (const i of j.indices) {
          const s = byIndex.get(i)!;
          s.status = 'running';
          s.job = { scheduler: scheduler.name, id: j.id, submitted_at: now() };
          store.writeState(s);
        }
      }
      store.writeBatch(batch);
      o.say(`submitted ${queued.length} submission(s) to ${scheduler.name}: job ${jobs.map((j) => j.id).join(', ')}`);
      changed = true;
    }

    if (changed) o.onChange(states(), started);
    const open = states().filter((s) => !isFinal(s.status));
    if (!open.length) return { finished: true, states: states(), started };
    if (batch.cancelled && !open.some((s) => s.status === 'running')) return { finished: false, states: states(), started };
    if (!o.wait) return { finished: false, states: states(), started };
    await scheduler.wait(o.pollMs);
  }
}

/**
 * Stops submitting: what waits in the scheduler's queue is taken back, what is running finishes,
 * zeros the halt doubts (could not load for want of `heldPackage`) wait again, and every
 * submission left waits for --resume.
 */
async function halt(o: DriveOptions, why: string, states: SubmissionState[], started: Set<number>, heldPackage: string | null): Promise<void> {
  const { store, batch, scheduler } = o;
  batch.cancelled = true;
  batch.halted = why;
  batch.held_package = heldPackage;
  store.writeBatch(batch);
  o.say(`HALTED: ${why}. Nothing more is submitted; the gradings under way finish.`);
  const waiting = states.filter((s) => s.status === 'running' && s.job && !started.has(s.index));
  // One cancel per job, for all its waiting tasks at once.
  const byJob = new Map<string, number[]>();
  for (const s of waiting) byJob.set(s.job!.id, [...(byJob.get(s.job!.id) ?? []), s.index]);
  for (const [id, indices] of byJob) await scheduler.cancel({ id, indices });
  for (const s of waiting) {
    // One that started and finished between the poll and the cancel has its result: the next poll settles it.
    const done = store.readDone(s.key);
    if (done && done.job === s.job!.id && done.task === s.index) continue;
    s.attempts.push({ scheduler: s.job!.scheduler, job: s.job!.id, outcome: 'not started: the batch halted', exit_code: null, host: null, ended_at: now(), counted: false });
    s.status = 'queued';
    s.job = null;
  }
  for (const s of states) {
    if (isHeldZero(s, batch)) holdZero(s);
    hold(s, store);
  }
}

/** A zero like those the halt holds back (could not load for want of the same package). */
function isHeldZero(s: SubmissionState, batch: Batch): boolean {
  return s.status === 'load_failed' && batch.held_package !== null && missingPackage(s.message) === batch.held_package;
}

/** A zero the halt doubts (could not load, like the others before it) waits for a person instead. */
function holdZero(s: SubmissionState): void {
  const last = s.attempts.at(-1);
  if (last) s.attempts[s.attempts.length - 1] = { ...last, outcome: `${last.outcome} (could not load: held by the halt, not counted)`, counted: false };
  s.status = 'queued';
  s.score = null;
  s.leaderboard = [];
  s.flags = [];
}

/** A submission left waiting by a halt says so (keeping its own fault, if it met one). */
function hold(s: SubmissionState, store: BatchStore): void {
  const held = 'held: the batch halted on faults in submission after submission (batch.json says why); --resume grades it';
  if (s.status !== 'queued' || s.message.endsWith(held)) return;
  s.message = s.message ? `${s.message.replace(/; retrying \(.*\)$/, '')}; ${held}` : held;
  store.writeState(s);
}

export function describe(s: SubmissionState): string {
  switch (s.status) {
    case 'graded':
      return `${s.score?.total ?? 0} / ${s.score?.max ?? 0}${s.flags.length ? ` (flagged: ${s.flags.join('; ')})` : ''}`;
    case 'load_failed':
      return `0 / ${s.score?.max ?? 0}: ${s.message}`;
    case 'rejected':
      return `0: ${s.message}`;
    case 'not_gradable':
      return `NOT GRADABLE: ${s.message}`;
    case 'superseded':
      return 'superseded by a newer submission';
    default:
      return s.status;
  }
}
