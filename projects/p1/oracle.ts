// Project 1's oracles: what every rank must end up with, computed in one process, in float64,
// with the plainest code. The checks in project.ts compare the submission's ranks against these.
import { ADAM, attentionBlock, cval, lossAndGrad, mlpBlock, mlpLayout, shardRange, update, type Arr, type OptimizerConfig } from './model.ts';

export { ADAM };

// ---- collectives -----------------------------------------------------------------------------

export type CollOp = 'allReduce' | 'reduceScatter' | 'allGather' | 'broadcast';

export interface CollCase {
  op: CollOp;
  N: number;
  L: number;
  seed: number;
  root: number;
}

/** Length of rank r's output. */
export function collectiveOutputLength(c: CollCase, rank: number): number {
  return c.op === 'reduceScatter' ? shardRange(c.L, c.N, rank).length : c.L;
}

/** Element i of rank r's output. The inputs are cval(seed, rank, i) (see ranks.ts). */
export function collectiveExpected(c: CollCase, rank: number): (i: number) => number {
  const sumAt = (i: number) => {
    let s = 0;
    for (let r = 0; r < c.N; r++) s += cval(c.seed, r, i);
    return s;
  };
  if (c.op === 'allReduce') return sumAt;
  if (c.op === 'reduceScatter') {
    const start = shardRange(c.L, c.N, rank).start;
    return (i) => sumAt(start + i);
  }
  return (i) => cval(c.seed, 0, i); // allGather: the global vector; broadcast: the root's buffer
}

/** The float64 sum of each rank's whole output (exact: the values are multiples of 1/8). */
export function collectiveSums(c: CollCase): number[] {
  const sumOf = (r: number) => {
    const f = collectiveExpected(c, r);
    const n = collectiveOutputLength(c, r);
    let s = 0;
    for (let i = 0; i < n; i++) s += f(i);
    return s;
  };
  if (c.op === 'reduceScatter') return Array.from({ length: c.N }, (_, r) => sumOf(r));
  return new Array<number>(c.N).fill(sumOf(0)); // the same output on every rank
}

// ---- training --------------------------------------------------------------------------------

/**
 * `steps` steps of full-batch training of the MLP from params0: each step the gradient of the
 * mean loss over the B examples of that step (x [steps, B, d0], y [steps, B, dL]), then one
 * update (SGD or Adam, t = 1, 2, ...). The parameters after the last step.
 */
export function train(sizes: number[], params0: Arr, x: Arr, y: Arr, B: number, steps: number, opt: OptimizerConfig): Float64Array {
  const layout = mlpLayout(sizes);
  const Psi = layout.numParams;
  const d0 = sizes[0]!;
  const dL = sizes[sizes.length - 1]!;
  const p = Float64Array.from(params0);
  const g = new Float64Array(Psi);
  const m = new Float64Array(Psi);
  const v = new Float64Array(Psi);
  for (let s = 0; s < steps; s++) {
    lossAndGrad(layout, p, x.subarray(s * B * d0, (s + 1) * B * d0), y.subarray(s * B * dL, (s + 1) * B * dL), B, g);
    for (let i = 0; i < Psi; i++) g[i] /= B;
    update(opt, p, g, m, v, s + 1);
  }
  return p;
}

// ---- tensor parallel -------------------------------------------------------------------------

export { attentionBlock, mlpBlock };

// ---- pipeline --------------------------------------------------------------------------------

/**
 * The unpipelined model of the pipeline task: stage s is one layer widths[s] -> widths[s+1]
 * (tanh except on the last); the loss is the mean over the B examples of ½ ‖out − y‖². The
 * gradient of each stage's layer (W then b), and the loss.
 */
export function pipelineGrads(widths: number[], params: Arr[], x: Arr, y: Arr, B: number): { grads: Float64Array[]; loss: number } {
  const layout = mlpLayout(widths);
  const flat = new Float64Array(layout.numParams);
  params.forEach((p, s) => flat.set(p, layout.layers[s]!.offset));
  const g = new Float64Array(layout.numParams);
  const loss = lossAndGrad(layout, flat, x, y, B, g) / B;
  return { grads: layout.layers.map((L) => g.slice(L.offset, L.offset + L.size).map((v) => v / B)), loss };
}

/** GPipe's and 1F1B's bubble fraction with p stages and m microbatches. */
export function idealBubble(p: number, m: number): number {
  return (p - 1) / (m + p - 1);
}
