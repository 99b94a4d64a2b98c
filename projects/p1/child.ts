// Project 1 on the submission's side, in the process's main thread: each call runs on N ranks
// (worker threads, harness/child/ranks/). prepare (not timed) opens or reuses the pool of ranks
// and hands each rank its input; invoke (timed) runs the job on every rank at once and brings
// back what each rank reported, with the group's traffic figures, as plain tensors.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineChild, type ChildContext, type ChildTask } from '../../harness/child/api.ts';
import { copyBandwidth, getPool, type GroupStats, type JobResult, type RankJob } from '../../harness/child/ranks/runtime.ts';
import type { Record_, Tensor, Value } from '../../harness/protocol/values.ts';
import { shardRange } from './model.ts';
import type { CollInput, DpInput, PipeInput, TpInput, ZeroInput } from './ranks.ts';

const RANKS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'ranks.ts');

interface Prepared {
  job: RankJob | null;
  /** Set for the harness's own measurement (no submission code runs). */
  copy?: { N: number; bytes: number };
}


const MiB = 1 << 20;
/** Each rank's shared arena: 32 MiB, or room for three buffers of `bytes` (inputs, outputs, the submission's own). */
export const arenaFor = (bytes: number) => Math.max(32 * MiB, Math.ceil((3 * bytes + 4 * MiB) / (32 * MiB)) * 32 * MiB);

/** Opens (or reuses) a pool of N ranks, each loading the module the driver loaded as the submission. */
async function start(ctx: ChildContext, task: string, N: number, inputs: unknown[], bufferBytes = 0): Promise<Prepared> {
  const pool = await getPool({ size: N, entry: ctx.entryUrl, tasks: RANKS, arenaBytes: arenaFor(bufferBytes) });
  return { job: await pool.prepare(task, inputs) };
}

async function runJob<O>(a: Prepared): Promise<JobResult<O>> {
  return a.job!.run<O>();
}

const f32 = (shape: number[], data: Float32Array): Tensor => ({ dtype: 'float32', shape, data });
const f64 = (data: number[] | Float64Array, shape = [data.length]): Tensor => ({ dtype: 'float64', shape, data: Float64Array.from(data) });
const t = (v: Value | undefined) => v as Tensor;
const num = (v: Value | undefined) => Number(v);

function stack(rows: Float32Array[], width: number): Tensor {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(r.subarray(0, width), i * width));
  return f32([rows.length, width], out);
}

/** The group's figures every task reports. */
function groupFigures(s: GroupStats, t0: number[], t1: number[]): Record_ {
  return {
    bytes_sent: f64(s.bytesSent),
    messages_sent: f64(s.messagesSent),
    unreceived: s.unreceived.reduce((a, u) => a + u.messages, 0),
    unreceived_links: s.unreceived.map((u) => `${u.src}->${u.dst}: ${u.messages}`).join(', '),
    // The submission's call, from the first rank's start to the last rank's end.
    span_ms: Math.max(...t1) - Math.min(...t0),
    // 1: comm.recvReduce added with WebAssembly SIMD; 0: with JavaScript loops, about 2x slower.
    simd_reduce: s.simdReduce ? 1 : 0,
  };
}

/** Rows [start, start + n) of a row-major [*, width] tensor, as a copy. */
function rowsOf(x: Tensor, start: number, n: number, width: number): Float32Array {
  return Float32Array.from(x.data.subarray(start * width, (start + n) * width) as Float32Array);
}

// ---- collectives -----------------------------------------------------------------------------

const collective = (op: CollInput['op'], exportName: string): ChildTask<Prepared> => ({
  exports: [exportName],
  async prepare(inputs, ctx) {
    const N = num(inputs.N);
    const bytes = num(inputs.L) * 4;
    if (inputs.op === 'copy') {
      // The harness's memory-copy bandwidth between threads: a pool of N ranks, no submission call.
      await getPool({ size: N, entry: ctx.entryUrl, tasks: RANKS, arenaBytes: arenaFor(bytes) });
      return { job: null, copy: { N, bytes } };
    }
    const inp: CollInput = { op, seed: num(inputs.seed), L: num(inputs.L), root: num(inputs.root ?? 0) };
    return start(ctx, 'collective', N, Array.from({ length: N }, () => inp), bytes);
  },
  async invoke(_sub, a, ctx): Promise<Record_> {
    if (a.copy) {
      const pool = await getPool({ size: a.copy.N, entry: ctx.entryUrl, tasks: RANKS, arenaBytes: arenaFor(a.copy.bytes) });
      const r = await copyBandwidth(pool, a.copy.bytes);
      // As simd_reduce in groupFigures (harness/child/ranks/README.md).
      return { copy_gbps: r.gbps, copy_ms: r.msPerCopy, simd_reduce: pool.group.arenaMemories ? 1 : 0 };
    }
    const r = await runJob<{ values: Float32Array; sum: number; t0: number; t1: number; inputChanged: [number, number] | null }>(a);
    return {
      ranks: r.outputs.map((o) => ({ values: f32([o.values.length], o.values), sum: o.sum, input_changed: o.inputChanged })),
      ...groupFigures(r.stats, r.outputs.map((o) => o.t0), r.outputs.map((o) => o.t1)),
    };
  },
  release: (a) => a.job?.discard(),
});

// ---- data parallel and ZeRO ------------------------------------------------------------------

function dpInputs(inputs: Record_, N: number): DpInput[] {
  const sizes = inputs.sizes as number[];
  const steps = num(inputs.steps);
  const B = num(inputs.B);
  const d0 = sizes[0]!;
  const dL = sizes[sizes.length - 1]!;
  const X = t(inputs.x);
  const Y = t(inputs.y);
  return Array.from({ length: N }, (_, r) => {
    const sh = shardRange(B, N, r);
    return {
      sizes,
      params: Float32Array.from(t(inputs.params).data as Float32Array),
      steps,
      globalBatch: B,
      rows: sh.length,
      x: Array.from({ length: steps }, (_, s) => rowsOf(X, s * B + sh.start, sh.length, d0)),
      y: Array.from({ length: steps }, (_, s) => rowsOf(Y, s * B + sh.start, sh.length, dL)),
      optimizer: inputs.optimizer as unknown as DpInput['optimizer'],
    };
  });
}

const dataParallel: ChildTask<Prepared> = {
  exports: ['dataParallelTrain'],
  prepare: (inputs, ctx) => start(ctx, 'dataParallel', num(inputs.N), dpInputs(inputs, num(inputs.N))),
  async invoke(_sub, a) {
    const r = await runJob<{ params: Float32Array; t0: number; t1: number }>(a);
    const Psi = r.outputs[0]!.params.length;
    return { params: stack(r.outputs.map((o) => o.params), Psi), ...groupFigures(r.stats, r.outputs.map((o) => o.t0), r.outputs.map((o) => o.t1)) };
  },
  release: (a) => a.job?.discard(),
};

interface ZeroOut {
  params: Float32Array;
  held: number[];
  peak: number[];
  sent: number[];
  byTag: string;
  untracked: number;
  stepMs: number[];
  t0: number;
  t1: number;
}

const zero: ChildTask<Prepared> = {
  exports: ['createZero'],
  prepare(inputs, ctx) {
    const N = num(inputs.N);
    const ins: ZeroInput[] = dpInputs(inputs, N).map((d) => ({ ...d, stage: num(inputs.stage) as 1 | 2 | 3, memory: Boolean(inputs.memory) }));
    return start(ctx, 'zero', N, ins);
  },
  async invoke(_sub, a) {
    const r = await runJob<ZeroOut>(a);
    const o = r.outputs;
    const steps = o[0]!.held.length;
    const perStep = (k: 'held' | 'peak' | 'sent' | 'stepMs') => f64(o.flatMap((x) => x[k]), [o.length, steps]);
    return {
      params: stack(o.map((x) => x.params), o[0]!.params.length),
      held: perStep('held'),
      peak: perStep('peak'),
      sent: perStep('sent'),
      step_ms: perStep('stepMs'),
      untracked: f64(o.map((x) => x.untracked)),
      by_tag: o.map((x) => x.byTag),
      ...groupFigures(r.stats, o.map((x) => x.t0), o.map((x) => x.t1)),
    };
  },
  release: (a) => a.job?.discard(),
};

// ---- tensor parallel -------------------------------------------------------------------------

interface TpOut {
  y: Float32Array;
  dx: Float32Array;
  grads: Record<string, Float32Array>;
  fwdBytes: number;
  bwdBytes: number;
  held: number;
  byTag: string;
  untracked: number;
  t0: number;
  t1: number;
}

const WEIGHT_NAMES = { mlp: ['w1', 'b1', 'w2', 'b2'], attention: ['wq', 'wk', 'wv', 'wo'] } as const;

const tensorParallel: ChildTask<Prepared> = {
  // Checked per case (createTpMlp for the MLP cases, createTpAttention for the attention ones),
  // so that one block earns its cases without the other.
  exports: [],
  prepare(inputs, ctx) {
    const N = num(inputs.N);
    const kind = String(inputs.kind) as 'mlp' | 'attention';
    const dims: Record<string, number> =
      kind === 'mlp' ? { d: num(inputs.d), hidden: num(inputs.hidden) } : { d: num(inputs.d), heads: num(inputs.heads), headDim: num(inputs.headDim) };
    const ins: TpInput[] = Array.from({ length: N }, () => {
      const weights: Record<string, Float32Array | number> = { ...dims };
      for (const w of WEIGHT_NAMES[kind]) weights[w] = Float32Array.from(t(inputs[w]).data as Float32Array);
      return { kind, T: num(inputs.T), weights, x: t(inputs.x).data as Float32Array, dy: t(inputs.dy).data as Float32Array, memory: Boolean(inputs.memory) };
    });
    return start(ctx, 'tensorParallel', N, ins);
  },
  async invoke(_sub, a) {
    const r = await runJob<TpOut>(a);
    const o = r.outputs;
    const width = o[0]!.y.length;
    return {
      y: stack(o.map((x) => x.y), width),
      dx: stack(o.map((x) => x.dx), width),
      grads: o.map((x) => Object.fromEntries(Object.entries(x.grads).map(([k, v]) => [k, f32([v.length], v)]))),
      fwd_bytes: f64(o.map((x) => x.fwdBytes)),
      bwd_bytes: f64(o.map((x) => x.bwdBytes)),
      held: f64(o.map((x) => x.held)),
      untracked: f64(o.map((x) => x.untracked)),
      by_tag: o.map((x) => x.byTag),
      ...groupFigures(r.stats, o.map((x) => x.t0), o.map((x) => x.t1)),
    };
  },
  release: (a) => a.job?.discard(),
};

// ---- pipeline parallel -----------------------------------------------------------------------

interface PipeOut {
  grad: Float32Array;
  forwards: number[];
  backwards: number[];
  losses: number[];
  lossSum: number;
  peak: number;
  live: number;
  vclock: number;
  t0: number;
  t1: number;
}

const pipeline: ChildTask<Prepared> = {
  exports: ['pipelineStep'],
  prepare(inputs, ctx) {
    const p = num(inputs.N);
    const m = num(inputs.m);
    const B = num(inputs.B);
    const widths = inputs.widths as number[];
    const X = t(inputs.x);
    const Y = t(inputs.y);
    const mbs = Array.from({ length: m }, (_, i) => shardRange(B, m, i));
    const ins: PipeInput[] = Array.from({ length: p }, (_, s) => ({
      schedule: String(inputs.schedule) as 'gpipe' | '1f1b',
      stages: p,
      microbatches: m,
      rows: mbs.map((r) => r.length),
      globalBatch: B,
      inputWidth: widths[s]!,
      outputWidth: widths[s + 1]!,
      params: Float32Array.from(t((inputs.params as Value[])[s]).data as Float32Array),
      inputs: s === 0 ? mbs.map((r) => rowsOf(X, r.start, r.length, widths[0]!)) : null,
      targets: s === p - 1 ? mbs.map((r) => rowsOf(Y, r.start, r.length, widths[p]!)) : null,
    }));
    return start(ctx, 'pipeline', p, ins);
  },
  async invoke(_sub, a) {
    const r = await runJob<PipeOut>(a);
    const o = r.outputs;
    const m = o[0]!.forwards.length;
    return {
      grads: o.map((x) => f32([x.grad.length], x.grad)),
      forwards: f64(o.flatMap((x) => x.forwards), [o.length, m]),
      backwards: f64(o.flatMap((x) => x.backwards), [o.length, m]),
      losses: f64(o[o.length - 1]!.losses),
      loss: o[o.length - 1]!.lossSum,
      peak: f64(o.map((x) => x.peak)),
      live: f64(o.map((x) => x.live)),
      vclock: f64(o.map((x) => x.vclock)),
      ...groupFigures(r.stats, o.map((x) => x.t0), o.map((x) => x.t1)),
    };
  },
  release: (a) => a.job?.discard(),
};

export default defineChild({
  runtime: 'none',
  tasks: {
    allReduce: collective('allReduce', 'allReduce'),
    reduceScatter: collective('reduceScatter', 'reduceScatter'),
    allGather: collective('allGather', 'allGather'),
    broadcast: collective('broadcast', 'broadcast'),
    dataParallel,
    zero,
    tensorParallel,
    pipeline,
  },
});
