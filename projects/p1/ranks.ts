// Project 1 inside each rank's thread: turns the rank's input into the arguments of the
// submission's function (setup, not timed), calls it with the rank's communicator (timed), and
// returns what the checks need: sampled outputs, final parameters, gradients, and the rank's
// traffic, memory and virtual clock read from the harness's side of the communicator.
import { defineRankTasks, RankOutputError, type Comm, type RankContext, type Submission } from '../../harness/child/ranks/api.ts';
import type { Mlp, PipelineStage, Saved, TpBlock, ZeroTrainer } from './api.ts';
import {
  backwardLayer,
  cval,
  forwardLayer,
  lossAndGrad,
  lossGrad,
  mlpLayout,
  sampleIndices,
  shardRange,
  type MlpLayout,
  type OptimizerConfig,
} from './model.ts';

function fn(sub: Submission, name: string): (...a: unknown[]) => unknown {
  const f = sub[name];
  if (typeof f !== 'function') throw new RankOutputError(`your index must export a function '${name}' (found ${describe(f)})`);
  return f as (...a: unknown[]) => unknown;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (x === undefined) return 'undefined';
  if (ArrayBuffer.isView(x)) return `a ${x.constructor.name} of ${(x as Float32Array).length}`;
  if (Array.isArray(x)) return 'an array';
  return typeof x;
}

function expectF32(x: unknown, n: number, what: string): Float32Array {
  if (!(x instanceof Float32Array)) throw new RankOutputError(`${what} must be a Float32Array of ${n}, got ${describe(x)}`);
  if (x.length !== n) throw new RankOutputError(`${what} has ${x.length} elements, expected ${n}`);
  return x;
}

function argF32(x: unknown, n: number, what: string): Float32Array {
  if (!(x instanceof Float32Array) || x.length !== n) throw new TypeError(`${what}: expected a Float32Array of ${n}, got ${describe(x)}`);
  return x;
}

// ---- collectives -----------------------------------------------------------------------------

export type CollOp = 'allReduce' | 'reduceScatter' | 'allGather' | 'broadcast';

export interface CollInput {
  op: CollOp;
  seed: number;
  L: number;
  root: number;
}

interface CollState extends CollInput {
  a: Float32Array;
  b: Float32Array | null;
}

/** What a rank reports of an output array: the sampled values and the float64 sum of all. */
function sampled(out: Float32Array, seed: number): { values: Float32Array; sum: number } {
  const idx = sampleIndices(out.length, seed);
  const values = new Float32Array(idx.length);
  for (let k = 0; k < idx.length; k++) values[k] = out[idx[k]!]!;
  let sum = 0;
  for (let i = 0; i < out.length; i++) sum += out[i]!;
  return { values, sum };
}

/**
 * Where a collective's input (its send buffer, which it must leave as it was) no longer holds
 * what setup put there, among the sampled elements: [index, value], or null. Read after the
 * timed span.
 */
function inputChanged(a: Float32Array, seed: number, f: (i: number) => number): [number, number] | null {
  for (const i of sampleIndices(a.length, seed)) if (a[i] !== Math.fround(f(i))) return [i, a[i]!];
  return null;
}

const collective = {
  setup(_sub: Submission, _comm: Comm, inp: CollInput, ctx: RankContext): CollState {
    const { rank, size } = ctx;
    const { seed, L } = inp;
    const sh = shardRange(L, size, rank);
    const fill = (n: number, f: (i: number) => number) => {
      const a = ctx.alloc(n) as Float32Array;
      for (let i = 0; i < n; i++) a[i] = f(i);
      return a;
    };
    if (inp.op === 'allReduce') return { ...inp, a: fill(L, (i) => cval(seed, rank, i)), b: null };
    if (inp.op === 'reduceScatter') return { ...inp, a: fill(L, (i) => cval(seed, rank, i)), b: fill(sh.length, () => NaN) };
    if (inp.op === 'allGather') return { ...inp, a: fill(sh.length, (i) => cval(seed, 0, sh.start + i)), b: fill(L, () => NaN) };
    return { ...inp, a: fill(L, (i) => (rank === inp.root ? cval(seed, 0, i) : cval(seed, 1000 + rank, i))), b: null };
  },
  async run(sub: Submission, comm: Comm, st: CollState, ctx: RankContext) {
    const t0 = ctx.nowMs();
    if (st.op === 'allReduce') await fn(sub, 'allReduce')(comm, st.a);
    else if (st.op === 'reduceScatter') await fn(sub, 'reduceScatter')(comm, st.a, st.b);
    else if (st.op === 'allGather') await fn(sub, 'allGather')(comm, st.a, st.b);
    else await fn(sub, 'broadcast')(comm, st.a, st.root);
    const t1 = ctx.nowMs();
    const out = st.b ?? st.a;
    const sh = shardRange(st.L, ctx.size, ctx.rank);
    const changed =
      st.op === 'reduceScatter'
        ? inputChanged(st.a, st.seed, (i) => cval(st.seed, ctx.rank, i))
        : st.op === 'allGather'
          ? inputChanged(st.a, st.seed, (i) => cval(st.seed, 0, sh.start + i))
          : null;
    return { ...sampled(out, st.seed), t0, t1, inputChanged: changed };
  },
};

// ---- the MLP helpers handed to submissions ---------------------------------------------------

export function mlpHelpers(layout: MlpLayout): Mlp {
  const Psi = layout.numParams;
  const d0 = layout.sizes[0]!;
  const dL = layout.sizes[layout.sizes.length - 1]!;
  const layerOf = (l: unknown) => {
    if (typeof l !== 'number' || !Number.isInteger(l) || l < 0 || l >= layout.layers.length) throw new RangeError(`layer ${String(l)} does not exist (0..${layout.layers.length - 1})`);
    return layout.layers[l]!;
  };
  const rowsOk = (rows: unknown) => {
    if (typeof rows !== 'number' || !Number.isInteger(rows) || rows < 0) throw new RangeError(`rows must be a non-negative integer, got ${String(rows)}`);
    return rows;
  };
  return Object.freeze({
    sizes: [...layout.sizes],
    layers: layout.layers.map((L) => ({ ...L })),
    numParams: Psi,
    lossAndGrad(params: Float32Array, x: Float32Array, y: Float32Array, rows: number, grad: Float32Array): number {
      rowsOk(rows);
      argF32(params, Psi, 'lossAndGrad params');
      argF32(x, rows * d0, 'lossAndGrad x');
      argF32(y, rows * dL, 'lossAndGrad y');
      argF32(grad, Psi, 'lossAndGrad grad');
      return lossAndGrad(layout, params, x, y, rows, grad, Float32Array);
    },
    forwardLayer(l: number, p: Float32Array, x: Float32Array, rows: number): Float32Array {
      const L = layerOf(l);
      rowsOk(rows);
      argF32(p, L.size, `forwardLayer(${l}) p`);
      argF32(x, rows * L.inputs, `forwardLayer(${l}) x`);
      return forwardLayer(layout, l, p, x, rows, Float32Array) as Float32Array;
    },
    backwardLayer(l: number, p: Float32Array, x: Float32Array, out: Float32Array, dOut: Float32Array, rows: number, gradP: Float32Array): Float32Array {
      const L = layerOf(l);
      rowsOk(rows);
      argF32(p, L.size, `backwardLayer(${l}) p`);
      argF32(x, rows * L.inputs, `backwardLayer(${l}) x`);
      argF32(out, rows * L.outputs, `backwardLayer(${l}) out`);
      argF32(dOut, rows * L.outputs, `backwardLayer(${l}) dOut`);
      argF32(gradP, L.size, `backwardLayer(${l}) gradP`);
      return backwardLayer(layout, l, p, x, out, dOut, rows, gradP, Float32Array) as Float32Array;
    },
    lossGrad(out: Float32Array, y: Float32Array, rows: number): { loss: number; dOut: Float32Array } {
      rowsOk(rows);
      argF32(out, rows * dL, 'lossGrad out');
      argF32(y, rows * dL, 'lossGrad y');
      const r = lossGrad(out, y, rows, dL, Float32Array);
      return { loss: r.loss, dOut: r.dOut as Float32Array };
    },
  });
}

// ---- data parallel ---------------------------------------------------------------------------

export interface DpInput {
  sizes: number[];
  params: Float32Array;
  steps: number;
  globalBatch: number;
  rows: number;
  x: Float32Array[];
  y: Float32Array[];
  optimizer: OptimizerConfig;
}

const dataParallel = {
  async run(sub: Submission, comm: Comm, inp: DpInput, ctx: RankContext) {
    const layout = mlpLayout(inp.sizes);
    const job = { model: mlpHelpers(layout), params: inp.params, steps: inp.steps, globalBatch: inp.globalBatch, x: inp.x, y: inp.y, rows: inp.rows, optimizer: { ...inp.optimizer } };
    const t0 = ctx.nowMs();
    const out = await fn(sub, 'dataParallelTrain')(comm, job);
    const t1 = ctx.nowMs();
    const params = expectF32(out, layout.numParams, 'dataParallelTrain(...) (the final parameters)');
    return { params: Float32Array.from(params), t0, t1, bytesSent: ctx.traffic().bytesSent };
  },
};

// ---- ZeRO ------------------------------------------------------------------------------------

export interface ZeroInput extends DpInput {
  stage: 1 | 2 | 3;
  /** Measure ArrayBuffers held outside comm.alloc (a full GC: checked cases only). */
  memory: boolean;
}

const zero = {
  async run(sub: Submission, comm: Comm, inp: ZeroInput, ctx: RankContext) {
    const layout = mlpLayout(inp.sizes);
    if (inp.memory) ctx.memoryBaseline();
    const t0 = ctx.nowMs();
    const job = { model: mlpHelpers(layout), params: inp.params, stage: inp.stage, optimizer: { ...inp.optimizer }, globalBatch: inp.globalBatch };
    const trainer = (await fn(sub, 'createZero')(comm, job)) as ZeroTrainer;
    if (typeof trainer !== 'object' || trainer === null || typeof trainer.step !== 'function' || typeof trainer.gatherParams !== 'function')
      throw new RankOutputError(`createZero must return {step, gatherParams}, got ${describe(trainer)}`);
    // What the submission did not copy is gone.
    inp.params.fill(NaN);
    const held: number[] = [];
    const peak: number[] = [];
    const sent: number[] = [];
    let byTag: Record<string, number> = {};
    const stepMs: number[] = [];
    for (let s = 0; s < inp.steps; s++) {
      ctx.resetPeak();
      const before = ctx.traffic().bytesSent;
      const ts = ctx.nowMs();
      await trainer.step(inp.x[s]!, inp.y[s]!, inp.rows);
      stepMs.push(ctx.nowMs() - ts);
      sent.push(ctx.traffic().bytesSent - before);
      const m = ctx.memory();
      held.push(m.live);
      peak.push(m.peak);
      byTag = m.byTag;
    }
    const untracked = inp.memory ? ctx.untrackedBytes() : 0;
    const params = expectF32(await trainer.gatherParams(), layout.numParams, 'gatherParams()');
    const t1 = ctx.nowMs();
    return { params: Float32Array.from(params), held, peak, sent, byTag: JSON.stringify(byTag), untracked, stepMs, t0, t1 };
  },
};

// ---- tensor parallel -------------------------------------------------------------------------

export interface TpInput {
  kind: 'mlp' | 'attention';
  T: number;
  weights: Record<string, Float32Array | number>;
  x: Float32Array;
  dy: Float32Array;
  memory: boolean;
}

const tensorParallel = {
  async run(sub: Submission, comm: Comm, inp: TpInput, ctx: RankContext) {
    const d = inp.weights.d as number;
    if (inp.memory) ctx.memoryBaseline();
    const name = inp.kind === 'mlp' ? 'createTpMlp' : 'createTpAttention';
    const block = (await fn(sub, name)(comm, inp.weights)) as TpBlock;
    if (typeof block !== 'object' || block === null || typeof block.forward !== 'function' || typeof block.backward !== 'function' || typeof block.grads !== 'function')
      throw new RankOutputError(`${name} must return {forward, backward, grads}, got ${describe(block)}`);
    for (const v of Object.values(inp.weights)) if (v instanceof Float32Array) v.fill(NaN);
    const held = ctx.memory().live;
    const byTag = JSON.stringify(ctx.memory().byTag);
    const untracked = inp.memory ? ctx.untrackedBytes() : 0;
    const t0 = ctx.nowMs();
    const b0 = ctx.traffic().bytesSent;
    const y = expectF32(await block.forward(Float32Array.from(inp.x), inp.T), inp.T * d, 'forward(...)');
    const b1 = ctx.traffic().bytesSent;
    const yCopy = Float32Array.from(y);
    const dx = expectF32(await block.backward(Float32Array.from(inp.dy)), inp.T * d, 'backward(...)');
    const b2 = ctx.traffic().bytesSent;
    const t1 = ctx.nowMs();
    const g = block.grads();
    if (typeof g !== 'object' || g === null) throw new RankOutputError(`grads() must return an object of Float32Arrays, got ${describe(g)}`);
    const grads: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(g)) {
      if (!(v instanceof Float32Array)) throw new RankOutputError(`grads().${k} must be a Float32Array, got ${describe(v)}`);
      grads[k] = Float32Array.from(v);
    }
    return { y: yCopy, dx: Float32Array.from(dx), grads, fwdBytes: b1 - b0, bwdBytes: b2 - b1, held, byTag, untracked, t0, t1 };
  },
};

// ---- pipeline parallel -----------------------------------------------------------------------

export interface PipeInput {
  schedule: 'gpipe' | '1f1b';
  stages: number;
  microbatches: number;
  rows: number[];
  globalBatch: number;
  inputWidth: number;
  outputWidth: number;
  /** The stage's layer: W [in, out] row-major then b [out]. */
  params: Float32Array;
  inputs: Float32Array[] | null;
  targets: Float32Array[] | null;
}

/** Forward costs 1 unit of the virtual clock, backward 2 (the usual 1:2 ratio). */
export const FORWARD_COST = 1;
export const BACKWARD_COST = 2;

interface StageReport {
  grad: Float32Array;
  forwards: number[];
  backwards: number[];
  losses: number[];
  lossSum: number;
  peak: number;
  live: number;
}

/** The stage handed to the submission: its figures are private, read by the harness through `report`. */
class Stage implements PipelineStage {
  readonly index: number;
  readonly stages: number;
  readonly inputWidth: number;
  readonly outputWidth: number;
  readonly #inp: PipeInput;
  readonly #ctx: RankContext;
  readonly #layout: MlpLayout;
  readonly #saved = new Map<object, { mb: number; x: Float32Array; y: Float32Array }>();
  readonly #r: StageReport;

  constructor(inp: PipeInput, ctx: RankContext) {
    this.index = ctx.rank;
    this.stages = inp.stages;
    this.inputWidth = inp.inputWidth;
    this.outputWidth = inp.outputWidth;
    this.#inp = inp;
    this.#ctx = ctx;
    const zeros = () => new Array<number>(inp.microbatches).fill(0);
    this.#r = { grad: new Float32Array(inp.params.length), forwards: zeros(), backwards: zeros(), losses: zeros(), lossSum: 0, peak: 0, live: 0 };
    // One layer; the last stage's has no tanh: elsewhere it is the first of a two-layer layout.
    this.#layout = this.index === inp.stages - 1 ? mlpLayout([inp.inputWidth, inp.outputWidth]) : mlpLayout([inp.inputWidth, inp.outputWidth, 1]);
    Object.freeze(this);
  }

  static report(s: Stage): StageReport {
    return s.#r;
  }

  #mb(mb: unknown): number {
    if (typeof mb !== 'number' || !Number.isInteger(mb) || mb < 0 || mb >= this.#inp.microbatches)
      throw new RangeError(`stage ${this.index}: microbatch ${String(mb)} does not exist (0..${this.#inp.microbatches - 1})`);
    return mb;
  }

  forward(mb: number, x: Float32Array): { y: Float32Array; saved: Saved } {
    this.#mb(mb);
    const rows = this.#inp.rows[mb]!;
    argF32(x, rows * this.inputWidth, `stage ${this.index} forward(${mb}, x)`);
    const y = forwardLayer(this.#layout, 0, this.#inp.params, x, rows, Float32Array) as Float32Array;
    const r = this.#r;
    r.forwards[mb]!++;
    const saved = Object.freeze({ microbatch: mb });
    this.#saved.set(saved, { mb, x: Float32Array.from(x), y: Float32Array.from(y) });
    r.live++;
    r.peak = Math.max(r.peak, r.live);
    this.#ctx.advance(FORWARD_COST);
    return { y, saved };
  }

  backward(saved: Saved, dy: Float32Array): Float32Array {
    const s = this.#saved.get(saved as object);
    if (!s) throw new RangeError(`stage ${this.index} backward: 'saved' is not a pending result of this stage's forward (each is used once)`);
    const rows = this.#inp.rows[s.mb]!;
    argF32(dy, rows * this.outputWidth, `stage ${this.index} backward(saved of microbatch ${s.mb}, dy)`);
    this.#saved.delete(saved as object);
    const r = this.#r;
    r.live--;
    const g = new Float32Array(r.grad.length);
    const dx = backwardLayer(this.#layout, 0, this.#inp.params, s.x, s.y, dy, rows, g, Float32Array) as Float32Array;
    for (let i = 0; i < g.length; i++) r.grad[i] += g[i]!;
    r.backwards[s.mb]!++;
    this.#ctx.advance(BACKWARD_COST);
    return dx;
  }

  loss(mb: number, y: Float32Array): Float32Array {
    this.#mb(mb);
    if (this.index !== this.stages - 1) throw new Error(`stage ${this.index}: loss is computed on the last stage (${this.stages - 1}) only`);
    const rows = this.#inp.rows[mb]!;
    argF32(y, rows * this.outputWidth, `stage ${this.index} loss(${mb}, y)`);
    const B = this.#inp.globalBatch;
    const l = lossGrad(y, this.#inp.targets![mb]!, rows, this.outputWidth, Float32Array);
    this.#r.losses[mb]!++;
    this.#r.lossSum += l.loss / B;
    const dy = l.dOut as Float32Array;
    for (let i = 0; i < dy.length; i++) dy[i] /= B;
    return dy;
  }
}

const pipeline = {
  async run(sub: Submission, comm: Comm, inp: PipeInput, ctx: RankContext) {
    const stage = new Stage(inp, ctx);
    const job = { schedule: inp.schedule, microbatches: inp.microbatches, rows: [...inp.rows], stage, inputs: inp.inputs };
    const t0 = ctx.nowMs();
    await fn(sub, 'pipelineStep')(comm, job);
    const t1 = ctx.nowMs();
    return { ...Stage.report(stage), vclock: ctx.vtime(), t0, t1 };
  },
};

export default defineRankTasks({
  tasks: { collective, dataParallel, zero, tensorParallel, pipeline },
});
