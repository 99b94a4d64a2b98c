// `mlsys batch`: grade every submission of a folder, locally or on Slurm, and resume, collect or
// cancel a batch. Exit codes: 0 every submission has a grade (zeros included) or was handed to
// the scheduler (--no-wait); 2 bad usage; 4 some submissions are not gradable after their attempts
// (a harness or machine fault: re-run with --resume), the batch halted on faults in submission
// after submission (breaker.ts), or the scheduler failed.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findProject, UsageError } from '../projects.ts';
import type { Project } from '../project.ts';
import { describe as describeState, drive, jobName } from './controller.ts';
import { loadCourse, DEFAULT_COURSE_FILE } from './course.ts';
import { discoverSubmissions, readTimestamps } from './discover.ts';
import { jobNeeds, type HiddenCaseCounts } from './limits.ts';
import { loadHiddenCases, readSecret, secretDigest } from '../staff.ts';
import { LocalPool } from './local.ts';
import { lockBatch } from './lock.ts';
import { prepareBatch, type BatchOptions } from './prepare.ts';
import { resumeLines } from './resume-command.ts';
import { countStates, Progress } from './progress.ts';
import type { Scheduler } from './scheduler.ts';
import { checkTimeLimit, SlurmError, SlurmScheduler, slurmProblem } from './slurm.ts';
import { BatchStore, type Batch, type SlurmOptions } from './state.ts';
import { writeBatchReports, writeSummary } from './summary.ts';

export interface BatchFlags {
  out?: string;
  slurm?: boolean;
  concurrency?: string;
  resume?: boolean;
  wait: boolean;
  collect?: boolean;
  cancel?: boolean;
  partition?: string;
  account?: string;
  sbatchArg?: string[];
  timeLimit?: string;
  mem?: string;
  gres?: string;
  cpus?: string;
  container?: string;
  maxAttempts: string;
  haltAfter: string;
  regrade: 'latest' | 'best';
  hidden?: boolean;
  secretFile?: string;
  sandbox: string;
  task?: string[];
  backend?: string;
  budget?: string;
  timeoutScale: string;
  submissionTimeout?: string;
  timestamps?: string;
  course?: string;
  pollInterval?: string;
  json?: boolean;
}

/** The scheduler could not do its part (sbatch refused, Slurm down): exit 4, nothing graded 0. */
export class BatchFault extends Error {}

function positiveInt(text: string | undefined, flag: string, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} must be a whole number of at least 1 (got '${text}')`);
  return n;
}

function gradeArgs(project: Project, f: BatchFlags): string[] {
  if (f.task) for (const t of f.task) if (!project.tasks.some((x) => x.id === t)) throw new UsageError(`unknown task '${t}' (tasks: ${project.tasks.map((x) => x.id).join(', ')})`);
  const scale = Number(f.timeoutScale);
  if (!(scale > 0)) throw new UsageError('--timeout-scale must be a positive number');
  if (f.hidden && !f.secretFile && !process.env.MLSYS_HIDDEN_SECRET)
    throw new UsageError('--hidden needs the grader secret: set MLSYS_HIDDEN_SECRET or pass --secret-file');
  if (f.secretFile && !existsSync(f.secretFile)) throw new UsageError(`--secret-file not found: ${f.secretFile}`);
  return [
    '--sandbox', f.sandbox,
    '--timeout-scale', String(scale),
    ...(f.hidden ? ['--hidden'] : []),
    ...(f.secretFile ? ['--secret-file', path.resolve(f.secretFile)] : []),
    ...(f.backend ? ['--backend', f.backend] : []),
    ...(f.budget ? ['--budget', f.budget] : []),
    ...(f.submissionTimeout ? ['--submission-timeout', f.submissionTimeout] : []),
    // Last: --task takes several values.
    ...(f.task?.length ? ['--task', ...f.task] : []),
  ];
}

function slurmOptions(project: Project, f: BatchFlags, hiddenCases: HiddenCaseCounts): SlurmOptions {
  const needs = jobNeeds(project, { hiddenCases, tasks: f.task ?? null, timeoutScale: Number(f.timeoutScale), submissionTimeoutS: f.submissionTimeout ? Number(f.submissionTimeout) : undefined });
  if (f.mem && !/^\d+[KMGT]?$/i.test(f.mem)) throw new UsageError(`--mem '${f.mem}': a size as sbatch takes it (e.g. 8G, 500M)`);
  if (f.container && !existsSync(f.container)) throw new UsageError(`--container image not found: ${f.container}`);
  return {
    partition: f.partition ?? null,
    account: f.account ?? null,
    time_minutes: f.timeLimit ? checkTimeLimit(f.timeLimit) : needs.timeMinutes,
    mem: f.mem ?? needs.mem,
    cpus: positiveInt(f.cpus, '--cpus', needs.cpus),
    gres: f.gres === 'none' ? null : (f.gres ?? needs.gres),
    extra: f.sbatchArg ?? [],
    container: f.container ? path.resolve(f.container) : null,
  };
}

function makeScheduler(batch: Batch, store: BatchStore, pollMs: number): Scheduler {
  if (batch.options.scheduler === 'local') return new LocalPool(batch.options.concurrency ?? 1, path.join(store.outDir, 'pids'));
  // With Slurm, --concurrency is the array's throttle (%N); without it, the cluster decides.
  return new SlurmScheduler({ ...batch.options.slurm!, throttle: batch.options.concurrency }, pollMs);
}

function printOutcome(states: ReturnType<BatchStore['allStates']>, started: Set<number>, out: string, finished: boolean, halted: boolean, say: (s: string) => void): void {
  const c = countStates(states, started);
  const superseded = states.filter((s) => s.status === 'superseded').length;
  const older = superseded ? ` (and ${superseded} older submission(s) superseded by a newer one of the same student, not graded)` : '';
  say(`\n${finished ? 'batch finished' : halted ? 'batch halted' : 'batch in progress'}: ${c.total} submission(s)${older}: ${c.graded} graded, ${c.zero} scored 0 (could not load or refused), ${c.notGradable} not gradable, ${c.running} running, ${c.queued} queued`);
  for (const s of states) if (['load_failed', 'rejected', 'not_gradable'].includes(s.status)) say(`  ${s.name}: ${describeState(s)}`);
  say(`results: ${out} (summary.csv, summary.json${finished ? ', gradebook.csv, canvas.csv, leaderboard.json' : ''}; one folder per submission under subs/)`);
}

export async function runBatch(project: string | undefined, submissions: string | undefined, f: BatchFlags): Promise<number> {
  const progress = new Progress(process.stderr, Boolean(f.json));
  const say = (s: string) => progress.log(s);
  if (f.pollInterval !== undefined && !(Number(f.pollInterval) > 0)) throw new UsageError('--poll-interval must be a positive number of seconds');

  let store: BatchStore;
  let batch: Batch;
  let courseFile: string | null = null;
  if (f.collect || f.cancel) {
    if (f.collect && f.cancel) throw new UsageError('--collect and --cancel do not go together');
    if (!f.out) throw new UsageError(`${f.collect ? '--collect' : '--cancel'} needs --out DIR: the batch folder`);
    store = new BatchStore(path.resolve(f.out));
    if (!store.exists()) throw new UsageError(`no batch in ${store.outDir} (no batch.json)`);
    lockBatch(store.outDir);
    batch = store.readBatch();
    if (project && (await findProject(project)).id !== batch.project) throw new UsageError(`${store.outDir} holds a batch of ${batch.project}, not ${project}`);
  } else {
    if (!project || !submissions) throw new UsageError('usage: mlsys batch <project> <submissions-dir> [options] (or --collect/--cancel --out DIR)');
    if (!f.slurm && !f.wait) throw new UsageError('--no-wait needs --slurm: a local batch runs in this process');
    const p = await findProject(project);
    // Loaded here so that a copy without the staff-only hidden cases fails before any job starts.
    const hiddenCases: HiddenCaseCounts = new Map(f.hidden ? [...(await loadHiddenCases(p))].map(([id, specs]) => [id, specs.length]) : []);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    store = new BatchStore(path.resolve(f.out ?? path.join('results', `${p.id}-batch-${stamp}`)));
    // The course's policies: given, or the batch's own when it is resumed, or the default file.
    const stored = f.resume && store.exists() ? store.readBatch().options.course : null;
    courseFile = f.course ? path.resolve(f.course) : (stored ?? (existsSync(DEFAULT_COURSE_FILE) ? DEFAULT_COURSE_FILE : null));
    const course = courseFile ? loadCourse(courseFile) : null;
    const zone = course?.timeZone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
    const stamps = f.timestamps ? readTimestamps(f.timestamps, zone) : undefined;
    const found = discoverSubmissions(path.resolve(submissions), { timeZone: zone, stamps });
    for (const n of found.notes) say(`note: ${n}`);
    if (!found.entries.length) throw new UsageError(`no submissions in ${submissions} (sub-folders, .zip, .tar.gz or .tgz files)`);
    const options: BatchOptions = {
      scheduler: f.slurm ? 'slurm' : 'local',
      hidden: Boolean(f.hidden),
      // Another secret gives other hidden cases: a resumed batch must not mix two.
      secret_digest: f.hidden ? secretDigest(readSecret(f.secretFile)) : null,
      sandbox: f.sandbox,
      tasks: f.task ?? null,
      regrade: f.regrade,
      grade_args: gradeArgs(p, f),
      max_attempts: positiveInt(f.maxAttempts, '--max-attempts', 3),
      halt_after: f.haltAfter === '0' ? 0 : positiveInt(f.haltAfter, '--halt-after', 5),
      concurrency: f.slurm
        ? f.concurrency
          ? positiveInt(f.concurrency, '--concurrency', 1)
          : null
        : positiveInt(f.concurrency, '--concurrency', Math.max(1, Math.floor(os.availableParallelism() / 2))),
      timestamps: f.timestamps ? path.resolve(f.timestamps) : null,
      course: courseFile,
      slurm: f.slurm ? slurmOptions(p, f, hiddenCases) : null,
    };
    if (f.slurm) {
      const problem = await slurmProblem();
      if (problem) throw new BatchFault(`--slurm: ${problem}`);
    }
    mkdirSync(store.outDir, { recursive: true });
    lockBatch(store.outDir);
    ({ batch } = await prepareBatch(store, p, submissions, found.entries, options, Boolean(f.resume), say));
    say(`batch ${batch.id}: ${p.id}, ${found.entries.length} submission(s) from ${path.resolve(submissions)} -> ${store.outDir}`);
  }

  // By the batch's own scheduler (a --collect or --cancel names none): Slurm is polled gently.
  const pollMs = f.pollInterval ? Number(f.pollInterval) * 1000 : batch.options.scheduler === 'slurm' ? 10_000 : 500;
  const scheduler = makeScheduler(batch, store, pollMs);
  if (scheduler instanceof SlurmScheduler && store.exists()) {
    const known = new Set([...batch.jobs.map((j) => j.id), ...store.allStates().flatMap((s) => (s.job ? [s.job.id] : []))]);
    const strays = await scheduler.cancelStrays(jobName(batch), known);
    if (strays.length) say(`cancelled job(s) ${strays.join(', ')}: submitted by an earlier run of this batch that was stopped before it wrote them down`);
  }
  if (f.cancel) {
    batch.cancelled = true;
    store.writeBatch(batch);
    let n = 0;
    let finished = 0;
    for (const s of store.allStates()) {
      if (s.status !== 'running' || !s.job) continue;
      // Graded already (its result is there): kept, and collected by the next --resume or --collect.
      const done = store.readDone(s.key);
      if (done && done.job === s.job.id && done.task === s.index) {
        finished++;
        continue;
      }
      await scheduler.cancel({ id: s.job.id, indices: [s.index] });
      s.attempts.push({ scheduler: s.job.scheduler, job: s.job.id, outcome: 'cancelled with --cancel', exit_code: null, host: null, ended_at: new Date().toISOString(), counted: false });
      s.status = 'queued';
      s.job = null;
      s.message = 'cancelled with --cancel; --resume grades it';
      store.writeState(s);
      n++;
    }
    writeSummary(store.outDir, batch, store.allStates());
    say(
      `cancelled ${n} submission(s) in flight${finished ? ` (${finished} had finished: their results are kept)` : ''}; this takes the batch up again:\n${resumeLines(batch, store.outDir)}`,
    );
    return 0;
  }

  if (batch.options.scheduler === 'local' && !f.wait && !f.cancel) throw new UsageError('--no-wait needs a Slurm batch: a local batch runs in this process');
  const stop = (sig: NodeJS.Signals) => {
    progress.stop();
    process.stderr.write(
      batch.options.scheduler === 'slurm'
        ? `\n${sig}: the Slurm jobs keep running; collect them with: mlsys batch --collect --out ${store.outDir}\n`
        : `\n${sig}: stopping the gradings in progress; continue with:\n${resumeLines(batch, store.outDir)}\n`,
    );
    process.exit(128 + (sig === 'SIGINT' ? 2 : 15));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  let result;
  try {
    result = await drive({
      store,
      batch,
      scheduler,
      wait: f.wait,
      pollMs,
      say,
      onChange: (states, started) => {
        writeSummary(store.outDir, batch, states, started);
        progress.update(states, started);
      },
    });
  } catch (e) {
    if (e instanceof SlurmError) throw new BatchFault(e.message);
    throw e;
  } finally {
    progress.stop();
    process.removeListener('SIGINT', stop);
    process.removeListener('SIGTERM', stop);
  }
  const states = result.states;
  writeSummary(store.outDir, batch, states, result.started);
  if (result.finished) await writeBatchReports(store.outDir, batch, store.allStates(), f.course ?? courseFile ?? batch.options.course ?? undefined);
  if (f.json) process.stdout.write(readFileSync(path.join(store.outDir, 'summary.json'), 'utf8'));
  else printOutcome(states, result.started, store.outDir, result.finished, Boolean(batch.halted), (s) => process.stderr.write(s + '\n'));
  if (batch.halted) {
    process.stderr.write(
      `\nHALTED: ${batch.halted}.\nNothing was graded 0 for it. Fix the fault (each submission's grade.log under subs/ has the details), then:\n${resumeLines(batch, store.outDir)}\n`,
    );
    return 4;
  }
  if (!result.finished) {
    if (!f.json) process.stderr.write(`collect later with: mlsys batch --collect --out ${store.outDir}\n`);
    return 0;
  }
  return countStates(states).notGradable > 0 ? 4 : 0;
}
