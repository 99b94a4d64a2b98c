// Interleaved adaptive timing: the implementations (submission, reference, ...) take turns,
// round after round, each round a small batch of timed calls on rotated inputs, until every
// spread is small or the time budget is spent. Each timed output is checked; times the child
// reports are cross-checked against the parent's own wall clock.
import type { Record_ } from '../protocol/values.ts';
import type { CheckResult, Task, TimedCall } from '../project.ts';
import type { SubmissionProcess } from '../runner/session.ts';
import { summarize, type Summary } from './stats.ts';
import { formatBytes } from '../bytes.ts';

export interface MeasureOptions {
  budgetMs: number;
  minSamples: number;
  maxSamples: number;
  /** Target IQR/median; repetition stops once every implementation is below it. */
  targetSpread: number;
  /** Roughly how long one round of one implementation should take. */
  roundMs: number;
  timeoutMs: number;
}

const WARMUP_ROUNDS = 2;

export const DEFAULT_MEASURE: MeasureOptions = {
  budgetMs: 6000,
  minSamples: 10,
  maxSamples: 300,
  targetSpread: 0.05,
  roundMs: 100,
  timeoutMs: 60000,
};

export interface PoolItem {
  inputs: Record_;
  expected: unknown;
}

export interface ImplTiming {
  impl: string;
  ok: boolean;
  message: string;
  samples: number[];
  /** The median of each recorded round, in round order: rounds of all implementations alternate. */
  rounds: number[];
  wallMs: number;
  summary: Summary | null;
  /** A few of the timed calls, for metrics computed from outputs (recall, tokens/s...). */
  calls: TimedCall[];
  leakedPerCall: number;
  flags: string[];
}

export async function measureInterleaved(
  impls: { name: string; proc: SubmissionProcess }[],
  task: Task,
  params: unknown,
  pool: PoolItem[],
  opt: MeasureOptions,
): Promise<ImplTiming[]> {
  const state = impls.map((i) => ({
    ...i,
    t: { impl: i.name, ok: true, message: '', samples: [], rounds: [], wallMs: 0, summary: null, calls: [], leakedPerCall: 0, flags: [] } as ImplTiming,
    perCall: 0,
    rotate: 0,
    /** What the process had printed when its first recorded round began (warm-up left out). */
    printedFrom: null as number | null,
  }));
  for (const i of impls) await i.proc.labelOutput(`timed runs of ${task.id}`);
  const printed = (p: SubmissionProcess) => p.stdout.printed + p.stderr.printed;
  const t0 = performance.now();
  const keepCalls = 8;
  for (let round = 0; ; round++) {
    const order = round % 2 ? [...state].reverse() : state;
    for (const s of order) {
      if (!s.t.ok) continue;
      const iterations = round === 0 ? 1 : Math.max(1, Math.min(50, Math.round(opt.roundMs / Math.max(s.perCall, 0.01))));
      const inputs = Array.from({ length: Math.min(iterations, pool.length) }, (_, j) => pool[(s.rotate + j) % pool.length]!);
      if (round === WARMUP_ROUNDS) s.printedFrom = printed(s.proc);
      const r = await s.proc.call({ task: task.id, mode: 'measure', iterations, inputs: inputs.map((p) => p.inputs) }, opt.timeoutMs);
      if (!r.ok) {
        s.t.ok = false;
        s.t.message = `${r.kind}: ${r.message}`;
        continue;
      }
      const samples = (r.reply.samples_ms as number[]) ?? [];
      const outputs = (r.reply.outputs as Record_[]) ?? [];
      if (samples.length !== iterations || outputs.length !== iterations) {
        s.t.ok = false;
        s.t.message = `the timed batch came back with ${samples.length} times and ${outputs.length} outputs for ${iterations} calls`;
        continue;
      }
      const sum = samples.reduce((a, b) => a + b, 0);
      if (samples.some((x) => !(x >= 0)) || sum > r.wallMs * 1.05 + 1) {
        s.t.flags.push(`implausible timing: reported ${sum.toFixed(3)} ms for a batch the harness saw take ${r.wallMs.toFixed(3)} ms`);
        s.t.ok = false;
        s.t.message = 'the reported times do not agree with the harness clock';
        continue;
      }
      for (let j = 0; j < iterations; j++) {
        const item = inputs[j % inputs.length]!;
        const chk: CheckResult = task.check(params, item.inputs, outputs[j]!, item.expected, { peakBytes: null });
        if (!chk.ok) {
          s.t.ok = false;
          s.t.message = `a timed call (repetition ${s.t.samples.length + j + 1}) gave a wrong answer: ${chk.message}`;
          break;
        }
      }
      if (!s.t.ok) continue;
      s.rotate = (s.rotate + iterations) % pool.length;
      const leaked = Number(r.reply.leaked_tensors ?? 0);
      s.t.leakedPerCall = Math.max(s.t.leakedPerCall, leaked / iterations);
      // Warm-up: round 0 (one call, to size the batches) and round 1 (a full batch) are not
      // recorded, so JIT compilation and first-touch allocation stay out of the figures.
      if (round < WARMUP_ROUNDS) {
        s.perCall = summarize(samples).median;
        continue;
      }
      s.t.samples.push(...samples);
      s.t.rounds.push(summarize(samples).median);
      s.t.wallMs += r.wallMs;
      outputs.forEach((o, j) => {
        const item = inputs[j % inputs.length]!;
        if (s.t.calls.length < keepCalls) s.t.calls.push({ inputs: item.inputs, expected: item.expected, outputs: o });
      });
      s.perCall = summarize(s.t.samples).median;
    }
    const live = state.filter((s) => s.t.ok);
    if (!live.length) break;
    const spent = performance.now() - t0;
    const done = live.every((s) => {
      if (s.t.samples.length >= opt.maxSamples) return true;
      if (s.t.samples.length < opt.minSamples) return false;
      return summarize(s.t.samples).spread <= opt.targetSpread;
    });
    const minReached = live.every((s) => s.t.samples.length >= Math.min(3, opt.minSamples));
    if (done || (spent > opt.budgetMs && minReached)) break;
  }
  for (const s of state) {
    // Printing is slow (a write to a pipe, and to the screen beyond it) and happens inside the
    // timed calls: figures measured with it say more about the printing than about the code.
    // Counted over the recorded rounds only (a library's greeting at first use is in the
    // warm-up), and not for a failed implementation (a crash's own text).
    const bytes = s.t.ok && s.printedFrom !== null ? printed(s.proc) - s.printedFrom : 0;
    if (bytes > 0)
      s.t.flags.push(`printed ${formatBytes(bytes)} during its timed calls: printing is slow and is timed with the code; remove the printing before reading these figures`);
    if (s.t.samples.length) s.t.summary = summarize(s.t.samples);
    if (s.t.summary && s.t.summary.spread > 0.1)
      s.t.flags.push(`large spread: IQR/median = ${(s.t.summary.spread * 100).toFixed(0)}% over ${s.t.summary.n} samples`);
  }
  return state.map((s) => s.t);
}
