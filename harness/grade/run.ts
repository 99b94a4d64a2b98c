// One run: plan the cases, start the submission's process, check every case against the
// oracle, time what is timed next to the reference, score, and write the results as they come.
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Project } from '../project.ts';
import type { Record_, Value } from '../protocol/values.ts';
import { Rng } from '../rng.ts';
import type { BackendName } from '../child/tensor-runtime.ts';
import type { Launcher } from '../runner/launcher.ts';
import { SubmissionProcess, type StartOutcome } from '../runner/session.ts';
import { ShaderCache } from '../runner/shader-cache.ts';
import type { MeasureOptions } from '../measure/interleaved.ts';
import { NotGradable } from './not-gradable.ts';
import { benchRecords, measureAll, type Contender } from './perf.ts';
import { planCases, type PlannedCase } from './cases.ts';
import { graderOnlyPaths, loadHiddenCases, secretDigest } from '../staff.ts';
import { scoreTask } from './score.ts';
import { usableBaselines } from './baselines.ts';
import { typeCheck } from '../check/typecheck.ts';
import { missingExports } from '../suggest.ts';
import { hostDevice, harnessVersions } from '../report/device.ts';
import { benchSchema, runSchema, type BenchRecord, type CaseRecord, type RunRecord } from '../report/schema.ts';
import { writeJson, writeAtomic } from '../report/write.ts';
import { toGradescope, type GradescopeResults } from '../report/gradescope.ts';

export interface RunOptions {
  project: Project;
  mode: 'test' | 'grade' | 'bench';
  submissionDir: string;
  /** The reference solution's folder, when this machine has it (speed is graded against it). */
  referenceDir: string | null;
  outDir: string | null;
  hidden: boolean;
  secret?: string;
  backend: BackendName;
  launcher: Launcher;
  tasks?: string[];
  caseId?: string;
  timeoutScale: number;
  measure: MeasureOptions;
  resume: boolean;
  /** Wall-clock limit for all of a submission's cases together, in ms (before scaling). */
  submissionTimeoutMs?: number;
  progress: (line: string) => void;
}

export interface RunOutcome {
  run: RunRecord;
  exitCode: 0 | 3 | 4;
  results?: GradescopeResults;
  bench?: BenchRecord[];
}

/** The first of `entries` in `dir`, spelled exactly (a file system that ignores case would also find `Index.ts`; the grader's would not). */
export function findEntry(dir: string, entries: string[]): string | null {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return null;
  }
  const e = entries.find((x) => names.includes(x));
  return e ? path.join(dir, e) : null;
}

/** Why no entry was found: a file named like one in other capitals, say. */
function noEntryMessage(dir: string, entries: string[]): string {
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    /* the folder's absence is said elsewhere */
  }
  const near = names.find((n) => entries.some((e) => e.toLowerCase() === n.toLowerCase()));
  const hint = near ? `: '${near}' is not '${entries.find((e) => e.toLowerCase() === near.toLowerCase())}' (the Linux machines that grade your code tell capitals apart; rename it)` : '';
  return `no ${entries.join(' or ')} in ${path.resolve(dir)}${hint}`;
}

/** Failures the submission's code gave by itself, the same whenever the case is run. */
const KEPT_ON_RESUME = ['wrong_output', 'exception', 'bad_output', 'missing_export'];

/** A message's first line for a progress line, with the next one when the first only announces it ("WGSL compile error:"). */
function headline(message: string): string {
  const [first = '', second] = message.split('\n');
  return first.trimEnd().endsWith(':') && second ? `${first.trimEnd()} ${second.trim()}` : first;
}

/**
 * A passed case's progress line: what the check measured (a recall and its floor, an error
 * against its tolerance) when it says so briefly, so that a narrow pass is seen before a hidden
 * case of the same kind fails.
 */
function passedLine(message: string): string {
  const first = message.split('\n')[0]!.trim();
  return first && first.length <= 120 ? `passed (${first})` : 'passed';
}

/** Scratch folders go with retries: on Windows a process just killed may hold them a moment. */
const RM = { recursive: true, force: true, maxRetries: 5 } as const;

/** How a path inside the staged copy appears in messages: as a file URL (ESM) or a path, either separator. */
function stagedPrefixes(staged: string): string[] {
  return [...new Set([`${pathToFileURL(staged).href}/`, `file://${staged}/`, `${staged}${path.sep}`, `${staged}/`])];
}

/** Scratch folders still in use: removed even when the harness is killed by a signal. */
const liveScratch = new Set<string>();
const liveCaches = new Set<ShaderCache>();
process.once('exit', () => {
  for (const s of liveScratch) for (const d of [s, `${s}.sub`]) rmSync(d, RM);
  for (const c of liveCaches) rmSync(c.dir, RM);
});

/**
 * GPU device nodes go into the sandbox only when the run may use them: a project that declares
 * GPU work, or a tensor backend that can run on a GPU (where this machine has one).
 */
function needsGpu(opt: RunOptions): boolean {
  return opt.project.gpu === 'required' || (opt.project.gpu === 'optional' && !['cpu', 'wasm'].includes(opt.backend));
}

/**
 * Whether a stack frame (once staged paths are made relative) is in the submission's own code:
 * its location is a relative path inside its folder with a line and column, e.g.
 * `at <anonymous> (index.ts:8:13)` inside a tf.tidy callback. Absolute paths, paths out of the
 * folder (`../`), `node:` and `<anonymous>` locations are not.
 */
export function ownFrame(line: string): boolean {
  const loc = /^\s+at (?:.*\()?([^()]+?)\)?$/.exec(line)?.[1];
  return loc !== undefined && /^[^/<:\s][^:]*:\d+:\d+$/.test(loc) && !loc.startsWith('../');
}

/** A submission (or the reference) in its own process, restarted after a fault. */
export class Impl implements Contender {
  proc: SubmissionProcess | null = null;
  ready: Record<string, Value> | null = null;
  loadError: string | null = null;
  stdout = '';
  stderr = '';
  private scratch: string[] = [];
  /** The GPU driver's shader cache, kept across this implementation's processes in the run. */
  private shaderCache: ShaderCache | null | undefined = undefined;

  constructor(
    readonly name: string,
    readonly dir: string,
    readonly entry: string,
    private readonly opt: RunOptions,
  ) {}

  /** Starts the process if it is not running; false (with loadError) when the code cannot load. */
  async ensure(): Promise<boolean> {
    if (this.proc?.alive) return true;
    if (this.proc) {
      await this.proc.stop(); // already dead: this reaps it and closes its pipes
      this.collectOutput();
    }
    for (let attempt = 1; ; attempt++) {
      // Its real path: the child's modules and stack frames name that, not a symlink to it (macOS's
      // TMPDIR), and clean() turns it back into paths relative to the submission.
      const scratch = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'mlsys-scratch-')));
      this.scratch.push(scratch);
      liveScratch.add(scratch);
      const gpu = needsGpu(this.opt);
      if (gpu && this.shaderCache === undefined) {
        // Kept from run to run only for a student's own checks (and never under the sandbox).
        this.shaderCache = ShaderCache.create(this.dir, { persist: this.opt.mode !== 'grade', sandboxed: this.opt.launcher.sandboxed });
        if (this.shaderCache) liveCaches.add(this.shaderCache);
      }
      const { proc, outcome } = await SubmissionProcess.start(
        this.opt.launcher,
        {
          submissionDir: this.dir,
          scratchDir: scratch,
          env: {},
          gpu,
          nodeFlags: this.opt.project.nodeFlags,
          graderOnly: [...graderOnlyPaths(this.opt.project), ...(this.opt.referenceDir ? [path.resolve(this.opt.referenceDir)] : [])],
          ...(this.name === 'submission' ? { packages: this.opt.project.packages ?? [] } : {}),
          ...(this.shaderCache ? { shaderCacheDir: this.shaderCache.dir } : {}),
        },
        { projectChild: this.opt.project.child, entry: this.opt.launcher.entryInside(this.entry, this.dir, scratch), backend: this.opt.backend },
        60000 * this.opt.timeoutScale,
      );
      this.proc = proc;
      const o = outcome as StartOutcome;
      if (o.ok) {
        this.ready = o.ready;
        return true;
      }
      await proc.stop();
      this.collectOutput();
      this.proc = null;
      if (o.fault === 'harness') {
        if (attempt < 2) continue; // machine hiccups are retried once
        throw new NotGradable(`${this.name}: ${o.message}`);
      }
      this.loadError = this.clean(o.message);
      return false;
    }
  }

  /**
   * A message as the student should read it: paths of the staged copy shown relative to their
   * folder, and only the stack frames in the submission's own files (the harness's, Node's and
   * the packages' are left out, tfjs's too, whose source maps name paths of their own).
   */
  clean(message: string): string {
    let m = message;
    for (const s of this.scratch) for (const p of stagedPrefixes(`${s}.sub`)) m = m.split(p).join('');
    m = m.split('file:///submission/').join('').split('/submission/').join('');
    return m
      .split('\n')
      .filter((line) => !/^\s+at /.test(line) || ownFrame(line))
      .join('\n');
  }

  /**
   * Adds a finished process's output to what this implementation printed. Called exactly once
   * per process: when it is replaced after a fault, when its start failed, or at stop.
   */
  collectOutput(): void {
    if (!this.proc) return;
    const cap = (s: string) => (s.length > 200000 ? `${s.slice(0, 100000)}\n[...]\n${s.slice(-100000)}` : s);
    // A later process's output (what it printed while loading comes before its first case's
    // label) is set apart from the last case of the one before.
    const join = (prev: string, next: string) => (prev && next ? `${prev}${prev.endsWith('\n') ? '' : '\n'}--- a new process ---\n${next}` : prev + next);
    this.stdout = cap(join(this.stdout, this.proc.stdout.text()));
    this.stderr = cap(join(this.stderr, this.proc.stderr.text()));
  }

  async stop(): Promise<void> {
    if (this.proc) {
      await this.proc.stop();
      this.collectOutput();
      this.proc = null;
    }
    for (const s of this.scratch) {
      for (const d of [s, `${s}.sub`]) rmSync(d, RM);
      liveScratch.delete(s);
    }
    this.scratch = [];
  }

  /** Stops it for good: its shader cache goes too (kept for the next run when persisting). */
  async close(): Promise<void> {
    await this.stop();
    if (this.shaderCache) {
      liveCaches.delete(this.shaderCache);
      this.shaderCache.close();
    }
    this.shaderCache = undefined;
  }
}

const nowIso = () => new Date().toISOString();

export async function executeRun(opt: RunOptions): Promise<RunOutcome> {
  const { project } = opt;
  const t0 = performance.now();
  const entry = findEntry(opt.submissionDir, project.entries);
  const runFile = opt.outDir ? path.join(opt.outDir, 'run.json') : null;
  const run: RunRecord = {
    schema: 'mlsys.run/1',
    status: 'running',
    mode: opt.mode,
    project: project.id,
    submission: { path: path.resolve(opt.submissionDir), entry: entry ? path.relative(opt.submissionDir, entry) : null },
    started_at: nowIso(),
    finished_at: null,
    options: {
      hidden: opt.hidden,
      secret_digest: secretDigest(opt.secret),
      backend: opt.backend,
      sandbox: opt.launcher.name,
      timeout_scale: opt.timeoutScale,
      tasks: opt.tasks ?? null,
      case: opt.caseId ?? null,
    },
    device: { host: hostDevice(), sandbox: opt.launcher.name },
    versions: harnessVersions(),
    cases: [],
    perf: [],
    perf_tasks: [],
    score: null,
    warnings: [],
    output: { stdout: '', stderr: '' },
    not_gradable_reason: null,
  };
  if (!opt.launcher.sandboxed)
    run.warnings.push('the submission ran WITHOUT a sandbox: fine on your own machine, never for grading');
  const save = () => {
    if (runFile) writeJson(runFile, runSchema, run);
  };

  const hiddenCases = opt.hidden && opt.mode !== 'bench' ? await loadHiddenCases(project) : undefined;
  const planned = opt.mode === 'bench' ? [] : planCases(project, { hidden: opt.hidden, secret: opt.secret, hiddenCases, tasks: opt.tasks, caseId: opt.caseId });
  // --resume: cases already in run.json for the same seeds are kept, not re-run.
  const done = new Map<string, CaseRecord>();
  if (opt.resume && runFile && existsSync(runFile)) {
    try {
      const prev = runSchema.parse(JSON.parse(readFileSync(runFile, 'utf8')));
      // Hidden cases are kept only if they came from the same secret. A case that ended with the
      // process (a crash, an exit, a timeout, memory, the protocol) is run again: the grade being
      // stopped (a scheduler's signal reaches the submission's process too) can be what ended it.
      const sameSecret = prev.options.secret_digest === run.options.secret_digest;
      for (const c of prev.cases)
        if ((c.visibility === 'public' || sameSecret) && (c.status === 'passed' || KEPT_ON_RESUME.includes(c.kind ?? ''))) done.set(c.id, c);
    } catch {
      run.warnings.push('--resume: the previous run.json could not be read; starting over');
    }
  }

  const sub = entry ? new Impl('submission', opt.submissionDir, entry, opt) : null;
  // test only: a student's check, beside the cases (grading neither spends the time nor has tsc).
  const types = opt.mode === 'test' && entry ? typeCheck(opt.submissionDir, entry, project.typeFiles ?? []) : null;
  const refEntry = opt.referenceDir ? findEntry(opt.referenceDir, project.entries) : null;
  const ref = refEntry && opt.mode !== 'test' ? new Impl('reference', opt.referenceDir!, refEntry, opt) : null;
  let exitCode: 0 | 3 | 4 = 0;
  const fail = (c: PlannedCase, kind: string, message: string): CaseRecord => ({
    id: c.id,
    task: c.task.id,
    index: c.index,
    label: c.spec.label,
    visibility: c.visibility,
    seed: c.visibility === 'public' ? c.seed : null,
    params: c.spec.params,
    status: 'failed',
    kind,
    message,
    ms: null,
    peak_bytes: null,
    leaked_tensors: null,
  });

  try {
    let loadMessage: string | null = null;
    if (!sub) loadMessage = noEntryMessage(opt.submissionDir, project.entries);
    else if (!(await sub.ensure())) loadMessage = sub.loadError;
    if (loadMessage) {
      exitCode = 3;
      run.status = 'load_failed';
      for (const c of planned) run.cases.push(fail(c, 'load_error', loadMessage));
      opt.progress(loadMessage.startsWith('your code could not be loaded') ? loadMessage : `could not load the submission: ${loadMessage}`);
    } else {
      const missing = (sub!.ready!.missing ?? {}) as Record<string, string[]>;
      run.device = { ...run.device, backend: sub!.ready!.backend, tensor_device: sub!.ready!.device };
      // Said where a TA reads (results.json, run.json's warnings), not only on the console.
      if (opt.mode !== 'test' && (sub!.ready!.device as Record<string, unknown> | undefined)?.fallback === true)
        run.warnings.push('timed on a CPU fallback adapter (no GPU was found): its timings are not GPU figures');
      let i = 0;
      const limit = (opt.submissionTimeoutMs ?? 30 * 60_000) * opt.timeoutScale;
      const casesStart = performance.now(); // the limit covers the cases, not the process start
      for (const c of planned) {
        i++;
        const prev = done.get(c.id);
        if (prev && prev.seed === (c.visibility === 'public' ? c.seed : null)) {
          run.cases.push(prev);
          continue;
        }
        const over = performance.now() - casesStart > limit;
        const rec = over
          ? fail(c, 'timeout', `not run: the submission's total time limit (${(limit / 1000).toFixed(0)} s for all cases) was reached`)
          : await runCase(c, sub!, missing[c.task.id], opt, fail);
        run.cases.push(rec);
        opt.progress(`[${i}/${planned.length}] ${c.id} (${c.spec.label}): ${rec.status === 'passed' ? passedLine(rec.message) : `FAILED: ${headline(rec.message)}`}`);
        save();
      }
      for (const r of run.cases)
        if (r.leaked_tensors && r.leaked_tensors > 0)
          run.warnings.push(`${r.id}: ${r.leaked_tensors} tensor(s) still allocated after the call (dispose intermediates, e.g. with tf.tidy)`);
      if (opt.mode !== 'test') {
        // Timing starts in a fresh process for every contender. The submission's process has
        // just run the correctness cases and the reference's has run nothing: a process's history
        // (the JIT's type feedback, its heap, a device's state) changes its speed, and this way
        // neither side carries one into the timed rounds (an index search, the reference against
        // itself: 0.71-0.88x with the submission timed in the process that ran the cases).
        if (planned.length) await sub!.stop();
        const declared = opt.mode === 'bench' ? usableBaselines(project.baselines ?? [], (w) => run.warnings.push(w)) : [];
        const baselines = declared.map((b) => new Impl(b.name, b.dir, findEntry(b.dir, project.entries) ?? path.join(b.dir, project.entries[0]!), opt));
        try {
          await measureAll(opt, run, sub!, ref, baselines, save);
        } finally {
          for (const b of baselines) await b.close();
        }
      }
    }
    if (opt.mode !== 'bench') {
      const tasks = project.tasks.filter((t) => run.cases.some((c) => c.task === t.id));
      const scores = tasks.map((t) => scoreTask(t, run.cases.filter((c) => c.task === t.id), run.perf_tasks.find((p) => p.task === t.id)));
      run.score = {
        total: Math.round(scores.reduce((a, s) => a + s.correctness + s.performance, 0) * 100) / 100,
        max: Math.round(scores.reduce((a, s) => a + s.correctness_max + s.performance_max, 0) * 100) / 100,
        tasks: scores,
      };
    }
    if (run.status === 'running') run.status = 'complete';
  } catch (e) {
    if (!(e instanceof NotGradable)) throw e;
    run.status = 'not_gradable';
    run.not_gradable_reason = e.message;
    run.score = null;
    exitCode = 4;
  } finally {
    await sub?.close();
    await ref?.close();
  }
  run.output = { stdout: sub?.stdout ?? '', stderr: sub?.stderr ?? '' };
  if (types) run.type_check = await types;
  run.finished_at = nowIso();
  save();

  const outcome: RunOutcome = { run, exitCode };
  if (opt.mode === 'bench') {
    outcome.bench = benchRecords(opt, run);
    if (opt.outDir) writeJson(path.join(opt.outDir, 'bench.json'), benchSchema, outcome.bench);
  } else if (run.status !== 'not_gradable') {
    const headline =
      run.status === 'load_failed'
        ? `Your submission could not be loaded: ${(run.cases[0]?.message ?? '').replace(/^your code could not be loaded:\s*/, '')}`.trim()
        : [`${run.score!.total} / ${run.score!.max} points.`, ...new Set(run.warnings)].join(' ');
    outcome.results = toGradescope(project, run, (performance.now() - t0) / 1000, headline);
    if (opt.outDir && opt.mode === 'grade') writeAtomic(path.join(opt.outDir, 'results.json'), JSON.stringify(outcome.results, null, 2) + '\n');
  }
  return outcome;
}

async function runCase(
  c: PlannedCase,
  sub: Impl,
  missing: string[] | undefined,
  opt: RunOptions,
  fail: (c: PlannedCase, kind: string, message: string) => CaseRecord,
): Promise<CaseRecord> {
  if (missing?.length)
    return fail(c, 'missing_export', `your index must export ${missingExports(missing, (sub.ready?.exports ?? []) as string[])} for ${c.task.id}`);
  if (!(await sub.ensure())) return fail(c, 'load_error', sub.loadError ?? 'could not load');
  const inputs = c.task.generate(c.spec.params, new Rng(c.seed));
  const expected = c.task.oracle(c.spec.params, inputs);
  const timeout = (c.task.timeoutMs ?? 20000) * opt.timeoutScale;
  await sub.proc!.labelOutput(`case ${c.id}`);
  const r = await sub.proc!.call({ task: c.task.id, mode: 'check', inputs, memory: Boolean(c.task.measureMemory) }, timeout);
  if (!r.ok) {
    return fail(c, r.kind, sub.clean(r.message));
  }
  const outputs = r.reply.outputs as Record_;
  const peak = typeof r.reply.peak_bytes === 'number' ? r.reply.peak_bytes : null;
  const chk = c.task.check(c.spec.params, inputs, outputs, expected, { peakBytes: peak });
  return {
    ...fail(c, chk.ok ? '' : 'wrong_output', chk.message),
    status: chk.ok ? 'passed' : 'failed',
    kind: chk.ok ? null : 'wrong_output',
    details: chk.details,
    ms: typeof r.reply.ms === 'number' ? r.reply.ms : null,
    peak_bytes: peak,
    leaked_tensors: typeof r.reply.leaked_tensors === 'number' ? r.reply.leaked_tensors : null,
  };
}
