// Timing for grading and for bench: which cases are timed, by which implementations (the
// submission, the reference, the project's named baselines), interleaved in one run; the
// derived metrics; and the task's speedup over the reference.
import type { MeasuredCase, Task } from '../project.ts';
import { Rng, seedFrom } from '../rng.ts';
import type { SubmissionProcess } from '../runner/session.ts';
import { measureInterleaved, type PoolItem } from '../measure/interleaved.ts';
import { summarize } from '../measure/stats.ts';
import type { BenchRecord, PerfRecord, RunRecord } from '../report/schema.ts';
import type { Value } from '../protocol/values.ts';
import { NotGradable } from './not-gradable.ts';
import { missingExports } from '../suggest.ts';
import type { RunOptions } from './run.ts';

/** An implementation that can be timed: started on demand, restarted after a fault. */
export interface Contender {
  readonly name: string;
  proc: SubmissionProcess | null;
  loadError: string | null;
  /** What the process said when it started: its backend, device, and `missing` exports by task. */
  ready: Record<string, Value> | null;
  ensure(): Promise<boolean>;
  /** Ends its process (the next ensure() starts a fresh one). */
  stop(): Promise<void>;
  /** A message of its process as a person should read it (its own stack frames, its own paths). */
  clean(message: string): string;
}

/** The exports a task needs that a contender lacks ([] when none); null when it could not be loaded. */
async function missingFor(c: Contender, task: string): Promise<string[] | null> {
  if (!(await c.ensure())) return null;
  return ((c.ready?.missing ?? {}) as Record<string, string[]>)[task] ?? [];
}

/** Timed inputs: their own seeds, so timing never reuses a checked case's inputs. */
function makePool(task: Task, params: unknown, seedBase: string, n: number): PoolItem[] {
  return Array.from({ length: n }, (_, k) => {
    const inputs = task.generate(params, new Rng(seedFrom(seedBase, String(k))));
    return { inputs, expected: task.oracle(params, inputs) };
  });
}

const finite = (m: Record<string, number>) => Object.fromEntries(Object.entries(m).filter(([, v]) => Number.isFinite(v)));

function uniqueByLabel<T extends { label: string }>(xs: T[]): T[] {
  const seen = new Set<string>();
  return xs.filter((x) => !seen.has(x.label) && seen.add(x.label));
}

/** The timed cases that grading uses for a task's speed figure. */
export function gradedCases(task: Task) {
  return task.perf ? [task.perf.case, ...(task.perf.sweep ?? [])] : [];
}

/**
 * The median over rounds of (reference round median / submission round median). Rounds of the
 * two alternate in time, so each ratio compares runs made moments apart: load that comes and
 * goes on a shared machine cancels out far better than in a ratio of overall medians.
 */
export function pairedSpeedup(refRounds: number[], subRounds: number[]): number | null {
  const n = Math.min(refRounds.length, subRounds.length);
  if (n < 3) return null;
  const ratios = Array.from({ length: n }, (_, i) => refRounds[i]! / subRounds[i]!).filter(Number.isFinite);
  return ratios.length ? summarize(ratios).median : null;
}

/** The measurement options of a run, its timeout scaled as every call's is. */
const timedOptions = (opt: RunOptions) => ({ ...opt.measure, timeoutMs: opt.measure.timeoutMs * opt.timeoutScale });

/** Times the reference alone in a fresh process: null when that works, else why not. */
async function timeAlone(ref: Contender, task: Task, params: unknown, pool: PoolItem[], opt: RunOptions): Promise<string | null> {
  await ref.stop();
  if (!(await ref.ensure())) return `it could not be loaded: ${ref.loadError}`;
  const [t] = await measureInterleaved([{ name: ref.name, proc: ref.proc! }], task, params, pool, timedOptions(opt));
  return t?.ok ? null : (t?.message ?? 'it was not timed');
}

/** Why the reference has no timing in a record (not loaded, or its timing failed), or null. */
function referenceFault(refName: string, rec: PerfRecord, notes: string[]): string | null {
  const r = rec.impls.find((i) => i.impl === refName);
  if (r) return r.ok ? null : r.message;
  return notes.find((n) => n.startsWith(`${refName} `)) ?? 'it was not timed';
}

function defaultSpeedup(task: Task, sub: MeasuredCase[], ref: MeasuredCase[]): { value: number | null; basis: string } {
  const label = task.perf!.case.label;
  const s = sub.find((m) => m.label === label);
  if (!s?.metrics.speedup_vs_reference || !ref.some((m) => m.label === label))
    return { value: null, basis: 'the timed case could not be measured for both' };
  return { value: s.metrics.speedup_vs_reference, basis: `time on '${label}', paired rounds` };
}

export async function measureAll(
  opt: RunOptions,
  run: RunRecord,
  sub: Contender,
  ref: Contender | null,
  baselines: Contender[],
  save: () => void,
): Promise<void> {
  const graded = opt.mode === 'grade';
  for (const task of opt.project.tasks) {
    if (opt.tasks && !opt.tasks.includes(task.id)) continue;
    if (!task.perf && !task.bench) continue;
    const cases = run.cases.filter((c) => c.task === task.id);
    // Correctness gates performance: a task is timed for grading only when every case passed.
    if (graded && (!task.perf || !cases.length || cases.some((c) => c.status !== 'passed'))) continue;
    const toTime = graded ? gradedCases(task) : uniqueByLabel([...gradedCases(task), ...(task.bench ?? [])]);
    // A baseline is timed on the tasks it implements (the exports they need): a library wraps
    // what it has. One note for the rest, not a failed row per case.
    const here: Contender[] = [];
    const notHere: string[] = [];
    if (!graded)
      for (const b of baselines) {
        const missing = await missingFor(b, task.id);
        if (missing?.length) notHere.push(b.name);
        else here.push(b);
      }
    const contenders = [sub, ...(ref ? [ref] : []), ...here];
    const records: PerfRecord[] = [];
    for (const spec of toTime) {
      // Only in bench: a graded timing is never left out quietly.
      const skip = graded ? null : task.skipOn?.(spec.params, run.device.tensor_device as Record<string, unknown> | undefined);
      if (skip) {
        const rec: PerfRecord = { task: task.id, label: spec.label, params: spec.params, graded, impls: [], speedup_vs_reference: null, flags: [`not timed on this device: ${skip}`] };
        records.push(rec);
        run.perf.push(rec);
        save();
        continue;
      }
      opt.progress(`timing ${task.id} (${spec.label}): ${contenders.map((c) => c.name).join(' vs ')}...`);
      const impls: { name: string; proc: SubmissionProcess }[] = [];
      const notes: string[] = [];
      for (const c of contenders) {
        const missing = await missingFor(c, task.id);
        if (missing === null) notes.push(`${c.name} could not be loaded: ${c.loadError}`);
        else if (missing?.length) notes.push(`${c.name} is not timed: its index must export ${missingExports(missing, (c.ready?.exports ?? []) as string[])} for ${task.id}`);
        else impls.push({ name: c.name, proc: c.proc! });
      }
      const pool = makePool(task, spec.params, `${opt.project.id}/${task.id}/${spec.label}/timed`, 4);
      const timings = await measureInterleaved(impls, task, spec.params, pool, timedOptions(opt));
      const rec: PerfRecord = { task: task.id, label: spec.label, params: spec.params, graded, impls: [], speedup_vs_reference: null, flags: [...notes] };
      for (const t of timings) {
        let metrics: Record<string, number> = {};
        if (t.summary) {
          metrics = { ms: t.summary.median, ms_iqr: t.summary.iqr };
          if (task.metrics) Object.assign(metrics, task.metrics(spec.params, { ms: t.summary.median, ms_iqr: t.summary.iqr }, t.calls));
        }
        if (t.leakedPerCall > 0) run.warnings.push(`${t.impl} ${task.id}: leaks ${t.leakedPerCall} tensor(s) per timed call`);
        rec.flags.push(...t.flags.map((f) => `${t.impl}: ${f}`));
        const message = contenders.find((c) => c.name === t.impl)?.clean(t.message) ?? t.message;
        rec.impls.push({ impl: t.impl, ok: t.ok, message, summary: t.summary, samples_ms: t.samples, round_medians_ms: t.rounds, wall_ms: t.wallMs, metrics: finite(metrics) });
      }
      const s = rec.impls.find((i) => i.impl === sub.name && i.ok);
      const r = rec.impls.find((i) => i.impl === ref?.name && i.ok);
      if (s?.metrics.ms && r?.metrics.ms && !spec.machine) {
        rec.speedup_vs_reference = pairedSpeedup(r.round_medians_ms, s.round_medians_ms) ?? r.metrics.ms / s.metrics.ms;
        s.metrics.speedup_vs_reference = rec.speedup_vs_reference;
        // Times are taken inside the submission's process; the harness's own clock bounds them
        // from above exactly, and from below only roughly: a much smaller share of the wall time
        // than the reference's, with a speedup, is worth a person's look.
        const share = (i: typeof s) => i.samples_ms.reduce((a, b) => a + b, 0) / Math.max(i.wall_ms, 1e-9);
        if (rec.speedup_vs_reference > 1.5 && share(s) < 0.5 * share(r))
          rec.flags.push(
            `submission: its reported times cover ${(100 * share(s)).toFixed(0)}% of the harness's wall-clock time for its batches, the reference's ${(100 * share(r)).toFixed(0)}%: flagged for a human to look at`,
          );
      }
      records.push(rec);
      run.perf.push(rec);
      save();
      // The reference is the course's code: when it cannot be timed (a driver's crash, a limit
      // of the machine), the speed cannot be graded, and that is nobody's zero. Timed next to
      // the submission, it may also have failed because of it (a kernel that wedges the GPU):
      // it is timed once more alone, in a fresh process, to tell the two apart.
      const refFault = graded && ref ? referenceFault(ref.name, rec, notes) : null;
      if (refFault) {
        const alone = await timeAlone(ref!, task, spec.params, pool, opt);
        if (alone)
          throw new NotGradable(`the reference could not be timed on ${task.id} (${spec.label}): ${refFault} (and again alone: ${alone}); the reference is the course's own code, so this is a fault of the machine or the harness, not of the submission`);
        const note = `reference: failed next to the submission (${refFault.split('\n')[0]}) but not when timed alone: the submission's speed is not credited; flagged for a human to look at`;
        rec.flags.push(note);
        run.warnings.push(`${task.id}: ${note}`);
        save();
      }
    }
    if (notHere.length && records[0]) {
      records[0].flags.push(...notHere.map((n) => `${n} is not timed on ${task.id}: it does not implement it (a baseline is timed on the tasks whose exports it has)`));
      save();
    }
    if (task.perf && ref) {
      const of = (name: string) =>
        records.filter((p) => gradedCases(task).some((g) => g.label === p.label)).flatMap((p) =>
          p.impls.filter((i) => i.impl === name && i.ok).map((i) => ({ impl: name, label: p.label, params: p.params, metrics: i.metrics })),
        );
      const failed = records.flatMap((p) => p.impls.filter((i) => !i.ok && (i.impl === sub.name || i.impl === ref.name)));
      const sp = failed.length
        ? { value: null, basis: `${failed[0]!.impl}: ${failed[0]!.message}` }
        : (task.perf.speedup ?? ((a: MeasuredCase[], b: MeasuredCase[]) => defaultSpeedup(task, a, b)))(of(sub.name), of(ref.name));
      run.perf_tasks.push({ task: task.id, speedup_vs_reference: sp.value !== null && Number.isFinite(sp.value) ? sp.value : null, basis: sp.basis });
      if (sp.value !== null && sp.value > 10)
        run.warnings.push(`${task.id}: a speedup of ${sp.value.toFixed(1)}x over the reference is flagged for a human to look at`);
      save();
    }
  }
}

export function benchRecords(opt: RunOptions, run: RunRecord): BenchRecord[] {
  const device = { ...run.device };
  const out: BenchRecord[] = run.perf.flatMap((p) =>
    p.impls.filter((i) => i.ok).map((i) => ({ project: opt.project.id, task: p.task, impl: i.impl, label: p.label, params: p.params, metrics: i.metrics, device })),
  );
  for (const task of opt.project.tasks) {
    if (!task.benchSummary) continue;
    const mine = out.filter((r) => r.task === task.id);
    for (const impl of new Set(mine.map((r) => r.impl))) {
      const extra = task.benchSummary(mine.filter((r) => r.impl === impl).map(({ impl: i, label, params, metrics }) => ({ impl: i, label, params, metrics })));
      out.push(...extra.map((m) => ({ project: opt.project.id, task: task.id, impl: m.impl, label: m.label, params: m.params, metrics: finite(m.metrics), device })));
    }
  }
  return out;
}
