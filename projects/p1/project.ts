// Project 1, parallelism: the tasks, their cases, oracles, checks, metrics and points. Every
// call runs on N ranks (threads of the submission's process, see harness/child/ranks/); the
// checks read the values each rank ended with and the figures the harness's communicator
// counted (bytes sent, memory held, the pipeline's clock). Formulas: projects/p1/README.md.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { allclose, expectTensor, isCheckResult, type Tolerance } from '../../harness/check/compare.ts';
import { defineProject, defineTask, type CaseSpec, type CheckResult, type MeasuredCase, type TimedCall } from '../../harness/project.ts';
import { tensor, type Record_, type Tensor, type Value } from '../../harness/protocol/values.ts';
import type { Rng } from '../../harness/rng.ts';
import { mlpInit, mlpLayout, sampleIndices, shardRange } from './model.ts';
import * as oracle from './oracle.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
// Speed: a fifth of each task's points; full credit at half the reference's speed, none at a fifth
// of it. Ranks are threads that share the machine's cores, so timings are noisier than Project 2's;
// what matters most here (traffic, memory, bubbles) is checked exactly, as correctness.
const PERF = { share: 0.2, target: 0.5, floor: 0.2 };
/** Each call starts N threads the first time and may stream megabytes: generous limits. */
const TIMEOUT_MS = 60000;

export const c = <P>(label: string, params: P): CaseSpec<P> => ({ label, params });
const t = (v: Value | undefined) => v as Tensor;
const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(7));
const ok = (message: string, details?: CheckResult['details']): CheckResult => ({ ok: true, message, details });
const bad = (message: string, details?: CheckResult['details']): CheckResult => ({ ok: false, message, details });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const max = (xs: ArrayLike<number>) => Math.max(...Array.from(xs));

/** The first failure among the checks, or all passed (details merged). */
function firstFailure(parts: CheckResult[]): CheckResult {
  const details = Object.assign({}, ...parts.map((p) => p.details ?? {}));
  const f = parts.find((p) => !p.ok);
  return f ? { ...f, details } : ok(parts.map((p) => p.message).join('; '), details);
}

function noneLeft(o: Record_): CheckResult {
  const n = Number(o.unreceived);
  if (n > 0) return bad(`${n} message(s) were sent and never received (${String(o.unreceived_links)}): every send needs its recv`);
  return ok('no message left unreceived');
}

// ---- 1. collectives --------------------------------------------------------------------------

export interface CollP {
  N: number;
  L: number;
  root?: number;
  /** A bench-only case: the harness's memory-copy bandwidth between N threads (L floats). */
  copy?: boolean;
}

const COLL_NAMES = { allReduce: 'all-reduce', reduceScatter: 'reduce-scatter', allGather: 'all-gather', broadcast: 'broadcast' } as const;

/**
 * Bytes a bandwidth-optimal algorithm sends from each rank (ring all-reduce: 2(N−1)/N · bytes;
 * reduce-scatter and all-gather: (N−1)/N · bytes; broadcast: at most 2(N−1)/N · bytes, as the
 * scatter + all-gather broadcast, a pipelined chain sends bytes), with one element of rounding
 * per chunk sent. nccl-tests' bus-bandwidth factors are the same fractions.
 */
export function optimalBytesPerRank(op: oracle.CollOp, N: number, L: number): { ideal: number; allowed: number; formula: string } {
  const B = 4 * L;
  const steps = op === 'allReduce' || op === 'broadcast' ? 2 * (N - 1) : N - 1;
  const f = op === 'allReduce' || op === 'broadcast' ? (2 * (N - 1)) / N : (N - 1) / N;
  return { ideal: f * B, allowed: f * B + 4 * steps, formula: `${op === 'allReduce' || op === 'broadcast' ? '2' : ''}(N−1)/N · ${B} bytes` };
}

/** Chunks of L/N floats a ring sends from each rank: N−1 a phase, two phases for an all-reduce. */
function ringSteps(op: oracle.CollOp, N: number): string {
  return op === 'allReduce' ? `2(N−1) = ${2 * (N - 1)}` : `N−1 = ${N - 1}`;
}

/** nccl-tests' bus bandwidth factor: busbw = algbw × factor. */
export function busFactor(op: oracle.CollOp, N: number): number {
  if (op === 'allReduce') return (2 * (N - 1)) / N;
  if (op === 'broadcast') return 1;
  return (N - 1) / N;
}

/**
 * Which elements of a rank's output are wrong, as spans of indices ('999–1000'), and the
 * remainder of L/N named when it is exactly what is wrong (shards of ⌊L/N⌋ leave it out).
 * `wrong`: the wrong indices among the `checked` (all `n` when n ≤ 4096, else a sample).
 */
function wrongPattern(wrong: number[], checked: number, n: number, what: string, whole: { N: number; L: number } | null): string {
  const spans: string[] = [];
  for (let i = 0; i < wrong.length; ) {
    let j = i;
    while (j + 1 < wrong.length && wrong[j + 1] === wrong[j]! + 1) j++;
    spans.push(i === j ? `${wrong[i]}` : `${wrong[i]}–${wrong[j]}`);
    i = j + 1;
  }
  const of = checked === n ? `${n}` : `${checked} checked (of ${n})`;
  let text = `${wrong.length} of ${of} elements of ${what} are wrong: ${spans.length > 4 ? `${spans.slice(0, 4).join(', ')}, ...` : spans.join(', ')}`;
  if (whole && whole.L % whole.N && wrong.every((i) => i >= whole.N * Math.floor(whole.L / whole.N)) && checked === n)
    text += ` (the last L mod N = ${whole.L % whole.N}: ${whole.N} shards of ⌊L/N⌋ = ${Math.floor(whole.L / whole.N)} leave them out; shardRange in the starter gives every element a shard)`;
  return text;
}

function checkCollective(op: oracle.CollOp, p: CollP, inputs: Record_, o: Record_): CheckResult {
  if (p.copy) return Number.isFinite(Number(o.copy_gbps)) ? ok(`copy bandwidth ${Number(o.copy_gbps).toFixed(2)} GB/s`) : bad('no copy bandwidth measured');
  const cc: oracle.CollCase = { op, N: p.N, L: p.L, seed: Number(inputs.seed), root: p.root ?? 0 };
  const ranks = o.ranks as Record_[];
  if (!Array.isArray(ranks) || ranks.length !== p.N) return bad(`expected outputs from ${p.N} ranks`);
  const sums = oracle.collectiveSums(cc);
  for (let r = 0; r < p.N; r++) {
    const n = oracle.collectiveOutputLength(cc, r);
    const idx = sampleIndices(n, cc.seed);
    const got = t(ranks[r]!.values).data;
    const exp = oracle.collectiveExpected(cc, r);
    const what = op === 'reduceScatter' ? 'output' : op === 'allGather' ? 'output' : 'buf';
    for (let k = 0; k < idx.length; k++) {
      const e = exp(idx[k]!);
      const g = got[k]!;
      if (g !== e) {
        const hint = Number.isNaN(g) ? ' (never written)' : '';
        const wrong: number[] = [];
        for (let j = k; j < idx.length; j++) if (got[j] !== exp(idx[j]!)) wrong.push(idx[j]!);
        return bad(
          `rank ${r}: ${what}[${idx[k]}] is ${fmt(g)}${hint}, expected ${fmt(e)} (${COLL_NAMES[op]} of ${p.L} floats on ${p.N} ranks${op === 'broadcast' ? `, root ${cc.root}` : ''}; the inputs are multiples of 1/8, so sums are exact in any order). ` +
            wrongPattern(wrong, idx.length, n, what, op === 'allReduce' || op === 'broadcast' ? p : null),
        );
      }
    }
    const s = Number(ranks[r]!.sum);
    if (s !== sums[r]) return bad(`rank ${r}: the sum of ${what} over all ${n} elements is ${fmt(s)}, expected ${fmt(sums[r]!)} (the sampled elements were right: some others are not)`);
  }
  for (let r = 0; r < p.N; r++) {
    const changed = ranks[r]!.input_changed as [number, number] | null | undefined;
    if (changed)
      return bad(
        `the values are right, but rank ${r} changed its input: input[${changed[0]}] is ${fmt(changed[1])} after the call. input is the rank's send buffer, as in NCCL and MPI: leave it as it was, and use comm.alloc for scratch`,
      );
  }
  const sent = t(o.bytes_sent).data;
  const b = optimalBytesPerRank(op, p.N, p.L);
  const worst = max(sent);
  const details = { bytes_sent_max: worst, bytes_sent_optimal: b.ideal, simd_reduce: Number(o.simd_reduce) };
  const left = noneLeft(o);
  if (!left.ok) return { ...left, details };
  if (worst > b.allowed) {
    const r = Array.from(sent).indexOf(worst);
    return bad(
      `the values are right, but rank ${r} sent ${worst} bytes; a bandwidth-optimal ${COLL_NAMES[op]} sends at most ${b.formula} = ${Math.round(b.ideal)} bytes from each rank ` +
        `(+${b.allowed - b.ideal} for rounding): ${op === 'broadcast' ? 'pipeline the buffer along a chain, or scatter then all-gather' : 'use a ring (send one chunk per step to the next rank)'}, not one rank sending to or collecting from all` +
        (op === 'broadcast' || p.L < p.N ? '' : `. Rank ${r} sent about ${(worst / ((4 * p.L) / p.N)).toFixed(1)} chunks of L/N floats, where ${ringSteps(op, p.N)} suffice: if yours is a ring, it takes more steps than that`),
      details,
    );
  }
  return ok(`values right on all ${p.N} ranks; at most ${worst} bytes sent per rank (optimal ${Math.round(b.ideal)})`, details);
}

function collectiveMetrics(op: oracle.CollOp) {
  return (p: CollP, _tm: unknown, calls: TimedCall[]): Record<string, number> => {
    if (p.copy) return { copy_gbps: median(calls.map((x) => Number(x.outputs.copy_gbps))), simd_reduce: Math.min(...calls.map((x) => Number(x.outputs.simd_reduce))) };
    const ms = median(calls.map((x) => Number(x.outputs.span_ms)));
    const algbw = (4 * p.L) / (ms * 1e6);
    return {
      call_ms: ms,
      algbw_gbps: algbw,
      busbw_gbps: algbw * busFactor(op, p.N),
      bytes_sent_per_rank: max(calls.map((x) => max(t(x.outputs.bytes_sent).data))),
    };
  };
}

const BENCH_BYTES = [4 << 10, 64 << 10, 1 << 20, 16 << 20, 64 << 20];
const sizeLabel = (b: number) => (b >= 1 << 20 ? `${b >> 20} MiB` : `${b >> 10} KiB`);

/** Per N, the busbw at the largest message over the copy bandwidth between threads (same run). */
function busbwOverCopy(cases: MeasuredCase[]): MeasuredCase[] {
  const out: MeasuredCase[] = [];
  for (const N of [...new Set(cases.map((x) => (x.params as CollP).N))]) {
    const copy = cases.find((x) => (x.params as CollP).copy && (x.params as CollP).N === N);
    const big = cases.filter((x) => !(x.params as CollP).copy && (x.params as CollP).N === N).sort((a, b) => (b.params as CollP).L - (a.params as CollP).L)[0];
    if (!copy || !big || !copy.metrics.copy_gbps || !big.metrics.busbw_gbps) continue;
    out.push({
      impl: big.impl,
      label: `busbw over copy bandwidth, N=${N}, ${sizeLabel(4 * (big.params as CollP).L)}`,
      params: { N, L: (big.params as CollP).L },
      metrics: {
        busbw_gbps: big.metrics.busbw_gbps,
        copy_gbps: copy.metrics.copy_gbps,
        busbw_over_copy: big.metrics.busbw_gbps / copy.metrics.copy_gbps,
        ...(copy.metrics.simd_reduce !== undefined ? { simd_reduce: copy.metrics.simd_reduce } : {}),
      },
    });
  }
  return out;
}

function collectiveTask(op: oracle.CollOp, points: number, pub: CaseSpec<CollP>[], withCopy: boolean) {
  const bench: CaseSpec<CollP>[] = [];
  for (const N of [2, 4, 8]) {
    for (const b of BENCH_BYTES) bench.push(c(`N=${N}, ${sizeLabel(b)}`, { N, L: b / 4, root: 0 }));
    if (withCopy) bench.push({ ...c(`memcpy between threads, N=${N}, 64 MiB`, { N, L: (64 << 20) / 4, copy: true }), machine: true });
  }
  return defineTask<CollP, null>({
    id: op,
    title: `${COLL_NAMES[op][0]!.toUpperCase()}${COLL_NAMES[op].slice(1)} (bandwidth-optimal)`,
    points,
    timeoutMs: TIMEOUT_MS,
    public: pub,
    generate: (p, rng) => ({ op: p.copy ? 'copy' : op, N: p.N, L: p.L, root: p.root ?? 0, seed: rng.int(0, 2 ** 31 - 1) }),
    oracle: () => null,
    check: (p, inputs, o) => checkCollective(op, p, inputs, o),
    perf: { case: c('N=4, 1 MiB', { N: 4, L: 1 << 18, root: 1 }), ...PERF },
    bench,
    metrics: collectiveMetrics(op),
    benchSummary: withCopy ? busbwOverCopy : undefined,
  });
}

const allReduceTask = collectiveTask(
  'allReduce',
  2,
  [
    c('N=1, 5 floats', { N: 1, L: 5 }),
    c('N=2, 1000 floats', { N: 2, L: 1000 }),
    c('N=3, 1001 floats (not divisible)', { N: 3, L: 1001 }),
    c('N=4, 4099 floats', { N: 4, L: 4099 }),
    c('N=4, 3 floats (fewer than ranks)', { N: 4, L: 3 }),
    c('N=3, 100003 floats (chunks over 64 KiB)', { N: 3, L: 100003 }),
    c('N=8, 1000 floats', { N: 8, L: 1000 }),
  ],
  true,
);

// reduceScatter and allGather are each other's inverse: the same sizes test both.
const SHARDED_PUBLIC = [
  c('N=1, 7 floats', { N: 1, L: 7 }),
  c('N=2, 1000 floats', { N: 2, L: 1000 }),
  c('N=3, 1001 floats (not divisible)', { N: 3, L: 1001 }),
  c('N=4, 2 floats (fewer than ranks)', { N: 4, L: 2 }),
  c('N=3, 100003 floats', { N: 3, L: 100003 }),
];

const reduceScatterTask = collectiveTask(
  'reduceScatter',
  1,
  SHARDED_PUBLIC,
  false,
);

const allGatherTask = collectiveTask(
  'allGather',
  1,
  SHARDED_PUBLIC,
  false,
);

const broadcastTask = collectiveTask(
  'broadcast',
  1,
  [
    c('N=1, 7 floats', { N: 1, L: 7, root: 0 }),
    c('N=2, 1000 floats, root 1', { N: 2, L: 1000, root: 1 }),
    c('N=3, 1001 floats, root 2', { N: 3, L: 1001, root: 2 }),
    c('N=4, 4099 floats, root 1', { N: 4, L: 4099, root: 1 }),
    c('N=3, 100003 floats, root 0', { N: 3, L: 100003, root: 0 }),
  ],
  false,
);

// ---- the MLP's data (tasks 2 and 3) ----------------------------------------------------------

export interface TrainP {
  N: number;
  sizes: number[];
  B: number;
  steps: number;
  optimizer: 'sgd' | 'adam';
}

const SGD = { kind: 'sgd' as const, lr: 0.1 };

function trainInputs(p: TrainP, rng: Rng): Record_ {
  const layout = mlpLayout(p.sizes);
  const d0 = p.sizes[0]!;
  const dL = p.sizes[p.sizes.length - 1]!;
  return {
    N: p.N,
    sizes: p.sizes,
    B: p.B,
    steps: p.steps,
    optimizer: { ...(p.optimizer === 'sgd' ? SGD : oracle.ADAM) },
    params: tensor('float32', [layout.numParams], mlpInit(layout, rng)),
    x: tensor('float32', [p.steps, p.B, d0], rng.normals(p.steps * p.B * d0)),
    y: tensor('float32', [p.steps, p.B, dL], rng.normals(p.steps * p.B * dL, 0.5)),
  };
}

function trainOracle(p: TrainP, i: Record_): Float64Array {
  return oracle.train(p.sizes, t(i.params).data as Float32Array, t(i.x).data as Float32Array, t(i.y).data as Float32Array, p.B, p.steps, p.optimizer === 'sgd' ? SGD : oracle.ADAM);
}

/** Every rank's final parameters against the oracle. */
function checkParams(o: Record_, name: string, N: number, expected: Float64Array, tol: Tolerance): CheckResult {
  const P = expectTensor(o, name, 'float32', [N, expected.length]);
  if (isCheckResult(P)) return P;
  for (let r = 0; r < N; r++) {
    const row = { dtype: 'float32' as const, shape: [expected.length], data: P.data.subarray(r * expected.length, (r + 1) * expected.length) as Float32Array };
    const res = allclose(`rank ${r}'s parameters`, row, expected, tol);
    if (!res.ok) return res;
  }
  return ok(`parameters match on all ${N} ranks`);
}

const TRAIN_TOL: Tolerance = { rtol: 1e-4, atol: 2e-5 };

// ---- 2. data parallel ------------------------------------------------------------------------

const dataParallelTask = defineTask<TrainP, Float64Array>({
  id: 'dataParallel',
  title: 'Data-parallel training (gradient all-reduce)',
  points: 3,
  timeoutMs: TIMEOUT_MS,
  public: [
    c('N=1, SGD', { N: 1, sizes: [8, 16, 4], B: 10, steps: 3, optimizer: 'sgd' }),
    c('N=2, SGD', { N: 2, sizes: [8, 16, 4], B: 10, steps: 3, optimizer: 'sgd' }),
    c('N=3, Adam, batch 10 (not divisible)', { N: 3, sizes: [8, 16, 4], B: 10, steps: 3, optimizer: 'adam' }),
    c('N=4, Adam, 3 layers', { N: 4, sizes: [8, 16, 12, 4], B: 12, steps: 3, optimizer: 'adam' }),
  ],
  generate: trainInputs,
  oracle: trainOracle,
  check: (p, _i, o, e) => firstFailure([checkParams(o, 'params', p.N, e, TRAIN_TOL), noneLeft(o)]),
  perf: { case: c('N=4, Adam, MLP 32-64-16, batch 64, 5 steps', { N: 4, sizes: [32, 64, 16], B: 64, steps: 5, optimizer: 'adam' }), ...PERF },
  metrics: (p, _tm, calls) => ({
    step_ms: median(calls.map((x) => Number(x.outputs.span_ms))) / p.steps,
    bytes_sent_per_rank: max(calls.map((x) => max(t(x.outputs.bytes_sent).data))) / p.steps,
  }),
});

// ---- 3. ZeRO ---------------------------------------------------------------------------------

export interface ZeroP extends TrainP {
  stage: 1 | 2 | 3;
  /** Check the ArrayBuffers held outside comm.alloc too (a full GC per rank: not in timed cases). */
  memory: boolean;
}

/**
 * Bytes rank r holds between steps (fp32 parameters, gradients and Adam's two moments, Ψ each),
 * with its shard of length ψ_r = shardRange(Ψ, N, r).length ≈ Ψ/N (the ZeRO paper's formulas):
 * baseline 16Ψ; stage 1 (moments sharded) 8Ψ + 8ψ_r; stage 2 (and gradients) 4Ψ + 12ψ_r;
 * stage 3 (and parameters) 16ψ_r.
 */
export function zeroHeldBytes(stage: 0 | 1 | 2 | 3, Psi: number, N: number, r: number): number {
  const s = shardRange(Psi, N, r).length;
  return [16 * Psi, 8 * Psi + 8 * s, 4 * Psi + 12 * s, 16 * s][stage]!;
}

/** Slack on the held bytes: a few elements per layer (shards by layer round differently) and small scalars. */
export function zeroHeldSlack(layers: number): number {
  return 64 * (layers + 1) + 256;
}

/** Bytes each rank sends per step: ~2Ψ elements (reduce-scatter + all-gather) for stages 1-2, ~3Ψ for stage 3, in fp32. */
export function zeroSentBytes(stage: 1 | 2 | 3, Psi: number, N: number): number {
  return ((stage === 3 ? 3 : 2) * (N - 1) * 4 * Psi) / N;
}

function checkZero(p: ZeroP, o: Record_, e: Float64Array): CheckResult {
  const layout = mlpLayout(p.sizes);
  const Psi = layout.numParams;
  const values = checkParams(o, 'params', p.N, e, TRAIN_TOL);
  if (!values.ok) return values;
  const held = t(o.held).data;
  const peak = t(o.peak).data;
  const sent = t(o.sent).data;
  const untracked = t(o.untracked).data;
  const tags = o.by_tag as string[];
  const slack = zeroHeldSlack(layout.layers.length);
  const details: CheckResult['details'] = {
    psi: Psi,
    bytes_held_max: max(held),
    bytes_held_formula_rank0: zeroHeldBytes(p.stage, Psi, p.N, 0),
    transient_bytes_max: max(Array.from(peak, (x, i) => x - held[i]!)),
    bytes_sent_per_step_max: max(sent),
    bytes_sent_formula: zeroSentBytes(p.stage, Psi, p.N),
    untracked_bytes_max: max(untracked),
  };
  for (let r = 0; r < p.N; r++)
    for (let s = 0; s < p.steps; s++) {
      const h = held[r * p.steps + s]!;
      const f = zeroHeldBytes(p.stage, Psi, p.N, r);
      if (h > f + slack) {
        const names = ['16Ψ', '8Ψ + 8Ψ/N', '4Ψ + 12Ψ/N', '16Ψ/N'];
        return bad(
          `the values are right, but after step ${s + 1} rank ${r} holds ${h} bytes through comm.alloc; ZeRO stage ${p.stage} holds ${names[p.stage]} = ${f} bytes ` +
            `(Ψ = ${Psi}, this rank's shard ψ = ${shardRange(Psi, p.N, r).length}; +${slack} allowed). By tag: ${tags[r]}. Free transient buffers before step() returns`,
          details,
        );
      }
    }
  const fs = zeroSentBytes(p.stage, Psi, p.N);
  const allowedSent = fs * 1.05 + 64 * p.N * (layout.layers.length + 1);
  for (let r = 0; r < p.N; r++)
    for (let s = 0; s < p.steps; s++) {
      const b = sent[r * p.steps + s]!;
      if (b > allowedSent)
        return bad(
          `the values are right, but in step ${s + 1} rank ${r} sent ${b} bytes; ZeRO stage ${p.stage} sends about ${p.stage === 3 ? 3 : 2}(N−1)/N · 4Ψ = ${Math.round(fs)} bytes per rank per step ` +
            `(${p.stage === 3 ? 'all-gather of the parameters for forward and again for backward, reduce-scatter of the gradients' : 'reduce-scatter of the gradients, all-gather of the updated parameters'}, with bandwidth-optimal collectives)`,
          details,
        );
    }
  const allowedUntracked = 16384 + 2 * Psi;
  for (let r = 0; r < p.N; r++)
    if (p.memory && untracked[r]! > allowedUntracked)
      return bad(
        `the values are right, but rank ${r} holds ${untracked[r]} bytes of ArrayBuffers not allocated with comm.alloc after the last step ` +
          `(allowed ${allowedUntracked}): keep parameters, gradients and optimizer state in comm.alloc buffers so that they are counted`,
        details,
      );
  const left = noneLeft(o);
  if (!left.ok) return { ...left, details };
  return ok(`parameters match on all ${p.N} ranks; at most ${max(held)} bytes held per rank (stage ${p.stage} formula, rank 0: ${zeroHeldBytes(p.stage, Psi, p.N, 0)})`, details);
}

export const Z = (N: number, stage: 1 | 2 | 3, sizes: number[], B: number, steps = 3, memory = true): ZeroP => ({ N, stage, sizes, B, steps, optimizer: 'adam', memory });
export const ZS = [6, 12, 10, 3];
export const ZBIG = [32, 96, 96, 8];

const zeroTask = defineTask<ZeroP, Float64Array>({
  id: 'zero',
  title: 'ZeRO stages 1, 2 and 3 with Adam',
  points: 4,
  timeoutMs: TIMEOUT_MS,
  public: [
    c('stage 1, N=1', Z(1, 1, ZS, 9)),
    c('stage 1, N=2', Z(2, 1, ZS, 9)),
    c('stage 2, N=3', Z(3, 2, ZS, 9)),
    c('stage 3, N=4', Z(4, 3, ZS, 9)),
    c('stage 3, N=2, Ψ=13256', Z(2, 3, ZBIG, 8, 2)),
    c('stage 2, N=3, Ψ=13256', Z(3, 2, ZBIG, 8, 2)),
  ],
  generate: (p, rng) => ({ ...trainInputs(p, rng), stage: p.stage, memory: p.memory }),
  oracle: trainOracle,
  check: (p, _i, o, e) => checkZero(p, o, e),
  perf: { case: c('stage 2, N=4, MLP 32-64-32-8, batch 32, 4 steps', Z(4, 2, [32, 64, 32, 8], 32, 4, false)), ...PERF },
  bench: [1, 2, 3].map((s) => c(`stage ${s}, N=4, MLP 32-64-32-8, batch 32, 4 steps`, Z(4, s as 1 | 2 | 3, [32, 64, 32, 8], 32, 4, false))),
  metrics: (p, _tm, calls) => {
    const o = calls.map((x) => x.outputs);
    return {
      step_ms: median(o.flatMap((x) => Array.from(t(x.step_ms).data))),
      bytes_held_per_rank: max(o.map((x) => max(t(x.held).data))),
      bytes_held_formula: zeroHeldBytes(p.stage, mlpLayout(p.sizes).numParams, p.N, 0),
      transient_bytes_per_rank: max(o.map((x) => max(Array.from(t(x.peak).data, (v, i) => v - t(x.held).data[i]!)))),
      bytes_sent_per_rank: max(o.map((x) => max(t(x.sent).data))),
    };
  },
});

// ---- 4. tensor parallel ----------------------------------------------------------------------

export interface TpP {
  N: number;
  kind: 'mlp' | 'attention';
  T: number;
  d: number;
  hidden?: number;
  heads?: number;
  headDim?: number;
  memory: boolean;
}

interface TpExpected {
  y: Float64Array;
  dx: Float64Array;
  grads: Record<string, Float64Array>;
}

function tpInputs(p: TpP, rng: Rng): Record_ {
  const w = (r: number, k: number) => tensor('float32', [r, k], rng.normals(r * k, 1 / Math.sqrt(r)));
  const base = { N: p.N, kind: p.kind, T: p.T, d: p.d, memory: p.memory };
  const x = tensor('float32', [p.T, p.d], rng.normals(p.T * p.d));
  const dy = tensor('float32', [p.T, p.d], rng.normals(p.T * p.d));
  if (p.kind === 'mlp') {
    const h = p.hidden!;
    return { ...base, hidden: h, w1: w(p.d, h), b1: tensor('float32', [h], rng.normals(h, 0.1)), w2: w(h, p.d), b2: tensor('float32', [p.d], rng.normals(p.d, 0.1)), x, dy };
  }
  const He = p.heads! * p.headDim!;
  return { ...base, heads: p.heads!, headDim: p.headDim!, wq: w(p.d, He), wk: w(p.d, He), wv: w(p.d, He), wo: w(He, p.d), x, dy };
}

function tpOracle(p: TpP, i: Record_): TpExpected {
  const d = (k: string) => t(i[k]).data as Float32Array;
  if (p.kind === 'mlp') {
    const r = oracle.mlpBlock(d('x'), { w1: d('w1'), b1: d('b1'), w2: d('w2'), b2: d('b2') }, p.T, p.d, p.hidden!, d('dy'));
    return { y: r.y, dx: r.dx, grads: { ...r.grads } };
  }
  const r = oracle.attentionBlock(d('x'), { wq: d('wq'), wk: d('wk'), wv: d('wv'), wo: d('wo') }, p.T, p.d, p.heads!, p.headDim!, d('dy'));
  return { y: r.y, dx: r.dx, grads: { ...r.grads } };
}

/** Rank r's part of each gradient: columns of W1 / Wq,Wk,Wv, rows of W2 / Wo, its slice of b1, all of b2. */
function tpShardOf(p: TpP, full: Record<string, Float64Array>, r: number): Record<string, { data: Float64Array; shape: string }> {
  const d = p.d;
  const cols = (m: Float64Array, width: number, start: number, n: number) => {
    const out = new Float64Array(d * n);
    for (let i = 0; i < d; i++) for (let j = 0; j < n; j++) out[i * n + j] = m[i * width + start + j]!;
    return out;
  };
  if (p.kind === 'mlp') {
    const h = p.hidden!;
    const s = shardRange(h, p.N, r);
    return {
      w1: { data: cols(full.w1!, h, s.start, s.length), shape: `[${d}, ${s.length}] (columns ${s.start}..${s.start + s.length - 1} of W1)` },
      b1: { data: full.b1!.slice(s.start, s.start + s.length), shape: `[${s.length}] (b1[${s.start}..${s.start + s.length - 1}])` },
      w2: { data: full.w2!.slice(s.start * d, (s.start + s.length) * d), shape: `[${s.length}, ${d}] (rows ${s.start}..${s.start + s.length - 1} of W2)` },
      b2: { data: full.b2!.slice(), shape: `[${d}] (all of b2, on every rank)` },
    };
  }
  const e = p.headDim!;
  const He = p.heads! * e;
  const s = shardRange(p.heads!, p.N, r);
  const a = s.start * e;
  const n = s.length * e;
  const which = `heads ${s.start}..${s.start + s.length - 1}`;
  return {
    wq: { data: cols(full.wq!, He, a, n), shape: `[${d}, ${n}] (columns of ${which})` },
    wk: { data: cols(full.wk!, He, a, n), shape: `[${d}, ${n}] (columns of ${which})` },
    wv: { data: cols(full.wv!, He, a, n), shape: `[${d}, ${n}] (columns of ${which})` },
    wo: { data: full.wo!.slice(a * d, (a + n) * d), shape: `[${n}, ${d}] (rows of ${which})` },
  };
}

/** Parameters rank r holds: its shards, plus b2 (replicated) for the MLP. */
export function tpParamsPerRank(p: TpP, r: number): number {
  if (p.kind === 'mlp') {
    const s = shardRange(p.hidden!, p.N, r).length;
    return 2 * p.d * s + s + p.d;
  }
  return 4 * p.d * shardRange(p.heads!, p.N, r).length * p.headDim!;
}

function tpFullParams(p: TpP): number {
  return p.kind === 'mlp' ? 2 * p.d * p.hidden! + p.hidden! + p.d : 4 * p.d * p.heads! * p.headDim!;
}

const TP_TOL: Tolerance = { rtol: 1e-4, atol: 1e-5 };

function checkTp(p: TpP, o: Record_, e: TpExpected): CheckResult {
  const width = p.T * p.d;
  for (const name of ['y', 'dx'] as const) {
    const P = expectTensor(o, name, 'float32', [p.N, width]);
    if (isCheckResult(P)) return P;
    for (let r = 0; r < p.N; r++) {
      const res = allclose(`rank ${r}'s ${name === 'y' ? 'forward output y' : 'backward output dx'}`, { dtype: 'float32', shape: [p.T, p.d], data: P.data.subarray(r * width, (r + 1) * width) as Float32Array }, e[name], TP_TOL);
      if (!res.ok) return res;
    }
  }
  const grads = o.grads as Record_[];
  for (let r = 0; r < p.N; r++) {
    const want = tpShardOf(p, e.grads, r);
    for (const [k, w] of Object.entries(want)) {
      const g = grads[r]?.[k] as Tensor | undefined;
      if (!g) return bad(`rank ${r}: grads() has no '${k}' (expected ${w.shape})`);
      if (g.data.length !== w.data.length) return bad(`rank ${r}: grads().${k} has ${g.data.length} elements, expected ${w.shape}: ${w.data.length}`);
      const res = allclose(`rank ${r}'s gradient ${k} ${w.shape}`, g, w.data, TP_TOL);
      if (!res.ok) return res;
    }
  }
  const fwd = t(o.fwd_bytes).data;
  const bwd = t(o.bwd_bytes).data;
  const held = t(o.held).data;
  const untracked = t(o.untracked).data;
  const one = 2 * (p.N - 1) * 4 * width; // one all-reduce of a [T, d] fp32 tensor, summed over ranks
  const sum = (a: ArrayLike<number>) => Array.from(a).reduce((x, y) => x + y, 0);
  const details = { fwd_bytes_total: sum(fwd), bwd_bytes_total: sum(bwd), one_allreduce_bytes_total: one, bytes_held_max: max(held), untracked_bytes_max: max(untracked) };
  for (const [phase, b] of [['forward', fwd], ['backward', bwd]] as const) {
    const total = sum(b);
    if (Math.abs(total - one) > 0.01 * one + 8 * p.N)
      return bad(
        `the values are right, but the ${phase} pass sent ${total} bytes over all ranks; Megatron's ${p.kind === 'mlp' ? 'MLP' : 'attention'} block needs exactly one all-reduce of the [${p.T}, ${p.d}] ${phase === 'forward' ? 'output' : 'input gradient'}, ` +
          `which moves 2(N−1) · ${4 * width} = ${one} bytes over all ranks (ring, tree or reduce + broadcast alike)`,
        details,
      );
  }
  for (let r = 0; r < p.N; r++) {
    const f = 4 * tpParamsPerRank(p, r);
    if (held[r]! > f + 1024)
      return bad(
        `the values are right, but after createTp${p.kind === 'mlp' ? 'Mlp' : 'Attention'} rank ${r} holds ${held[r]} bytes through comm.alloc; its shard of the parameters is ${f} bytes ` +
          `(1/N of the block's ${4 * tpFullParams(p)}${p.kind === 'mlp' ? ', plus b2 on every rank' : ''}). By tag: ${(o.by_tag as string[])[r]}. Allocate gradients in backward, not before`,
        details,
      );
    const allowed = 16384 + 2 * tpFullParams(p);
    if (p.memory && untracked[r]! > allowed)
      return bad(
        `the values are right, but rank ${r} holds ${untracked[r]} bytes of ArrayBuffers not allocated with comm.alloc after createTp${p.kind === 'mlp' ? 'Mlp' : 'Attention'} (allowed ${allowed}): ` +
          `keep your shard of the weights in comm.alloc buffers (the full weights you were given are not yours to keep)`,
        details,
      );
  }
  const left = noneLeft(o);
  if (!left.ok) return { ...left, details };
  return ok(`outputs and gradients match on all ${p.N} ranks; one all-reduce forward, one backward`, details);
}

export const MLP = (N: number, T: number, d: number, hidden: number, memory = true): TpP => ({ N, kind: 'mlp', T, d, hidden, memory });
export const ATT = (N: number, T: number, d: number, heads: number, headDim: number, memory = true): TpP => ({ N, kind: 'attention', T, d, heads, headDim, memory });

const tensorParallelTask = defineTask<TpP, TpExpected>({
  id: 'tensorParallel',
  title: 'Tensor (Megatron) parallel MLP and attention blocks',
  points: 3,
  timeoutMs: TIMEOUT_MS,
  public: [
    c('MLP, N=1', MLP(1, 5, 8, 12)),
    c('MLP, N=2', MLP(2, 5, 8, 12)),
    c('MLP, N=3, hidden 10 (not divisible)', MLP(3, 5, 8, 10)),
    c('MLP, N=2, d=48, hidden 160', MLP(2, 4, 48, 160)),
    c('attention, N=2, 4 heads', ATT(2, 6, 12, 4, 3)),
    c('attention, N=3, 4 heads (2, 1, 1)', ATT(3, 6, 12, 4, 3)),
    c('attention, N=4, 4 heads', ATT(4, 5, 8, 4, 2)),
  ],
  generate: tpInputs,
  oracle: tpOracle,
  check: (p, _i, o, e) => checkTp(p, o, e),
  perf: { case: c('MLP, N=4, T=32, d=64, hidden 256', MLP(4, 32, 64, 256, false)), ...PERF },
  bench: [c('attention, N=4, T=32, d=64, 8 heads', ATT(4, 32, 64, 8, 8, false))],
  metrics: (_p, _tm, calls) => {
    const o = calls.map((x) => x.outputs);
    return {
      step_ms: median(o.map((x) => Number(x.span_ms))),
      bytes_sent_per_rank: max(o.map((x) => max(Array.from(t(x.fwd_bytes).data, (v, i) => v + t(x.bwd_bytes).data[i]!)))),
      bytes_held_per_rank: max(o.map((x) => max(t(x.held).data))),
    };
  },
});

// ---- 5. pipeline parallel --------------------------------------------------------------------

export interface PipeP {
  N: number;
  m: number;
  schedule: 'gpipe' | '1f1b';
  B: number;
  width: number;
}

function pipeWidths(p: PipeP): number[] {
  return [6, ...new Array<number>(p.N - 1).fill(p.width), 4];
}

function pipeInputs(p: PipeP, rng: Rng): Record_ {
  const widths = pipeWidths(p);
  const layout = mlpLayout(widths);
  const flat = mlpInit(layout, rng);
  return {
    N: p.N,
    m: p.m,
    B: p.B,
    schedule: p.schedule,
    widths,
    params: layout.layers.map((L) => tensor('float32', [L.size], flat.slice(L.offset, L.offset + L.size))),
    x: tensor('float32', [p.B, widths[0]!], rng.normals(p.B * widths[0]!)),
    y: tensor('float32', [p.B, widths[p.N]!], rng.normals(p.B * widths[p.N]!, 0.5)),
  };
}

/** The bubble fraction from the stages' clocks: 1 − busy / (p · makespan), busy = m · (1 + 2) per stage. */
export function bubbleFraction(vclocks: ArrayLike<number>, m: number): number {
  const makespan = max(vclocks);
  return makespan > 0 ? 1 - (3 * m) / makespan : 0;
}

function checkPipeline(p: PipeP, _inputs: Record_, o: Record_, e: { grads: Float64Array[]; loss: number }): CheckResult {
  const fw = t(o.forwards).data;
  const bw = t(o.backwards).data;
  for (let s = 0; s < p.N; s++)
    for (let mb = 0; mb < p.m; mb++) {
      const f = fw[s * p.m + mb]!;
      const b = bw[s * p.m + mb]!;
      if (f !== 1 || b !== 1) return bad(`stage ${s} ran forward ${f} time(s) and backward ${b} time(s) on microbatch ${mb}: each must run exactly once per step`);
    }
  const losses = t(o.losses).data;
  const missing = Array.from(losses).findIndex((x) => x !== 1);
  if (missing >= 0) return bad(`the last stage computed the loss of microbatch ${missing} ${losses[missing]} time(s): once per microbatch`);
  const grads = o.grads as Tensor[];
  for (let s = 0; s < p.N; s++) {
    const res = allclose(`stage ${s}'s gradient (W then b)`, grads[s]!, e.grads[s]!, { rtol: 1e-4, atol: 1e-6 });
    if (!res.ok) return res;
  }
  if (Math.abs(Number(o.loss) - e.loss) > 1e-4 * (1 + Math.abs(e.loss))) return bad(`the loss is ${o.loss}, expected ${e.loss}`);
  const vclock = t(o.vclock).data;
  const peak = t(o.peak).data;
  const bubble = bubbleFraction(vclock, p.m);
  const ideal = oracle.idealBubble(p.N, p.m);
  const details = { bubble_fraction: bubble, ideal_bubble_fraction: ideal, makespan_units: max(vclock), peak_stash_max: max(peak) };
  // Both schedule checks are said at once: fixing one should not reveal the other only then.
  const problems: string[] = [];
  if (bubble > ideal + 1e-9)
    problems.push(
      `the schedule's bubble fraction is ${bubble.toFixed(4)}; ${p.schedule === 'gpipe' ? 'GPipe' : '1F1B'} with p = ${p.N} stages and m = ${p.m} microbatches reaches (p−1)/(m+p−1) = ${ideal.toFixed(4)} ` +
        `(forward 1 unit, backward 2; the step took ${max(vclock)} units, the ideal ${3 * (p.m + p.N - 1)}). A stage must start a microbatch as soon as its input has arrived: receive each microbatch's input just before its forward, not all of them first`,
    );
  const limit = p.schedule === '1f1b' ? Math.min(p.N, p.m) : p.m;
  const worst = Array.from(peak).findIndex((x) => x > limit);
  if (worst >= 0)
    problems.push(
      `stage ${worst} held the activations of ${peak[worst]} microbatches at once; ${p.schedule === '1f1b' ? `1F1B holds at most p = ${p.N} (stage s: p − s): after its warm-up, a stage alternates one forward, one backward` : `GPipe holds at most m = ${p.m}`}`,
    );
  if (problems.length) return bad(`the gradients are right, but ${problems.join('. Also, ')}`, details);
  const left = noneLeft(o);
  if (!left.ok) return { ...left, details };
  return ok(`gradients match on all ${p.N} stages; bubble ${bubble.toFixed(4)} (ideal ${ideal.toFixed(4)}); peak stash ${max(peak)}`, details);
}

export const PP = (N: number, m: number, schedule: 'gpipe' | '1f1b', B = 12, width = 8): PipeP => ({ N, m, schedule, B, width });

const pipelineTask = defineTask<PipeP, { grads: Float64Array[]; loss: number }>({
  id: 'pipeline',
  title: 'Pipeline parallelism: GPipe and 1F1B',
  points: 3,
  timeoutMs: TIMEOUT_MS,
  public: [
    c('GPipe, p=1, m=2', PP(1, 2, 'gpipe')),
    c('GPipe, p=2, m=4', PP(2, 4, 'gpipe')),
    c('GPipe, p=3, m=3', PP(3, 3, 'gpipe')),
    c('1F1B, p=2, m=1', PP(2, 1, '1f1b')),
    c('1F1B, p=3, m=6', PP(3, 6, '1f1b')),
    c('1F1B, p=4, m=8', PP(4, 8, '1f1b', 16)),
  ],
  generate: pipeInputs,
  oracle: (p, i) => {
    const widths = pipeWidths(p);
    return oracle.pipelineGrads(widths, (i.params as Tensor[]).map((x) => x.data as Float32Array), t(i.x).data as Float32Array, t(i.y).data as Float32Array, p.B);
  },
  check: checkPipeline,
  perf: { case: c('1F1B, p=4, m=8, width 32, batch 64', PP(4, 8, '1f1b', 64, 32)), ...PERF },
  bench: [c('GPipe, p=4, m=8, width 32, batch 64', PP(4, 8, 'gpipe', 64, 32)), c('1F1B, p=4, m=16, width 32, batch 64', PP(4, 16, '1f1b', 64, 32))],
  metrics: (p, _tm, calls) => {
    const o = calls.map((x) => x.outputs);
    return {
      step_ms: median(o.map((x) => Number(x.span_ms))),
      bubble_fraction: median(o.map((x) => bubbleFraction(t(x.vclock).data, p.m))),
      ideal_bubble_fraction: oracle.idealBubble(p.N, p.m),
      peak_stash: max(o.map((x) => max(t(x.peak).data))),
      bytes_sent_per_rank: max(o.map((x) => max(t(x.bytes_sent).data))),
    };
  },
});

export default defineProject({
  id: 'p1',
  aliases: ['parallelism', 'parallel', 'p1-parallelism'],
  title: 'Parallelism: collectives, data parallel, ZeRO, tensor and pipeline parallel',
  child: path.join(here, 'child.ts'),
  graderOnly: [path.join(here, 'oracle.ts')],
  typeFiles: [path.join(here, 'api.ts')],
  entries: ['index.ts', 'index.js'],
  tasks: [allReduceTask, reduceScatterTask, allGatherTask, broadcastTask, dataParallelTask, zeroTask, tensorParallelTask, pipelineTask],
  milestones: { checkin: ['allReduce', 'reduceScatter', 'allGather', 'broadcast'] },
  // With this flag each rank's arena is a WebAssembly memory and recvReduce adds with SIMD
  // (harness/child/ranks/reduce.ts). Without it each such memory would reserve ~10 GiB of address
  // space (eight do not fit under the sandbox's limit), so the arenas stay plain shared memory
  // and the additions JavaScript loops, about 2x slower.
  nodeFlags: ['--disable-wasm-trap-handler'],
});
