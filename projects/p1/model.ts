// Project 1's models and shared arithmetic: how vectors are split across ranks, the data of the
// collectives, the MLP (its flat parameter layout, forward, backward, loss), Adam, GeLU and the
// causal attention block. Written once over Float64Array or Float32Array: the oracle runs it in
// float64; the ranks' helpers (what a submission calls) run it in float32.
import type { Rng } from '../../harness/rng.ts';

export type Arr = Float32Array | Float64Array;
type Ctor = Float32ArrayConstructor | Float64ArrayConstructor;

// ---- sharding --------------------------------------------------------------------------------

/**
 * Rank r's part of a vector of `length` elements split over `size` ranks: contiguous, in rank
 * order, sizes differing by at most one (the first length % size ranks get one more).
 */
export function shardRange(length: number, size: number, rank: number): { start: number; length: number } {
  const base = Math.floor(length / size);
  const extra = length % size;
  return { start: rank * base + Math.min(rank, extra), length: base + (rank < extra ? 1 : 0) };
}

// ---- the collectives' data -------------------------------------------------------------------

/** A 32-bit mix of (seed, a, b): the collectives' inputs are made from it on each rank. */
export function mix(seed: number, a: number, b: number): number {
  let h = (seed ^ Math.imul(a + 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Element i of vector `which` of a case: a multiple of 1/8 in [-128, 128). Sums of up to 2^13 of
 * them are exact in float32, in any order: collectives are checked for exact equality.
 */
export function cval(seed: number, which: number, i: number): number {
  return ((mix(seed, which, i) & 2047) - 1024) / 8;
}

/** Where outputs are sampled: every index up to 4096 elements, else 4096 spread and seeded ones. */
export function sampleIndices(length: number, seed: number): Int32Array {
  if (length <= 4096) return Int32Array.from({ length }, (_, i) => i);
  const out = new Set<number>();
  for (let k = 0; k < 1024; k++) out.add(k).add(length - 1 - k);
  for (let k = 0; k < 1024; k++) out.add(Math.floor((k * length) / 1024));
  for (let k = 0; out.size < 4096; k++) out.add(mix(seed, 0x5eed, k) % length);
  return Int32Array.from([...out].sort((a, b) => a - b));
}

// ---- the MLP ---------------------------------------------------------------------------------

export interface LayerLayout {
  /** Offset of the layer's block in the flat parameter vector: W [inputs, outputs] row-major, then b [outputs]. */
  offset: number;
  /** inputs · outputs + outputs. */
  size: number;
  inputs: number;
  outputs: number;
}

export interface MlpLayout {
  sizes: number[];
  layers: LayerLayout[];
  numParams: number;
}

export function mlpLayout(sizes: number[]): MlpLayout {
  const layers: LayerLayout[] = [];
  let offset = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l]!;
    const outputs = sizes[l + 1]!;
    layers.push({ offset, size: inputs * outputs + outputs, inputs, outputs });
    offset += inputs * outputs + outputs;
  }
  return { sizes: [...sizes], layers, numParams: offset };
}

/** Initial parameters: W ~ N(0, 1/inputs), b ~ N(0, 0.1²). */
export function mlpInit(layout: MlpLayout, rng: Rng): Float32Array {
  const p = new Float32Array(layout.numParams);
  for (const L of layout.layers) {
    const s = 1 / Math.sqrt(L.inputs);
    for (let i = 0; i < L.inputs * L.outputs; i++) p[L.offset + i] = rng.normal() * s;
    for (let j = 0; j < L.outputs; j++) p[L.offset + L.inputs * L.outputs + j] = rng.normal() * 0.1;
  }
  return p;
}

/** Layer l's output for `rows` inputs x [rows, inputs]: tanh(x W + b), no tanh on the last layer. */
export function forwardLayer(layout: MlpLayout, l: number, p: Arr, x: Arr, rows: number, C: Ctor = Float64Array): Arr {
  const L = layout.layers[l]!;
  const last = l === layout.layers.length - 1;
  const { inputs: I, outputs: O } = L;
  const out = new C(rows * O);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < O; j++) {
      let z = p[I * O + j]!;
      for (let i = 0; i < I; i++) z += x[r * I + i]! * p[i * O + j]!;
      out[r * O + j] = last ? z : Math.tanh(z);
    }
  return out;
}

/**
 * Layer l's backward: from its input x, its output `out` and dL/dout, writes dL/dparams into
 * gradP (the layer's block, overwritten) and returns dL/dx.
 */
export function backwardLayer(layout: MlpLayout, l: number, p: Arr, x: Arr, out: Arr, dOut: Arr, rows: number, gradP: Arr, C: Ctor = Float64Array): Arr {
  const L = layout.layers[l]!;
  const last = l === layout.layers.length - 1;
  const { inputs: I, outputs: O } = L;
  const dz = new Float64Array(rows * O);
  for (let k = 0; k < rows * O; k++) dz[k] = last ? dOut[k]! : dOut[k]! * (1 - out[k]! * out[k]!);
  gradP.fill(0, 0, L.size);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < I; i++) {
      const xv = x[r * I + i]!;
      for (let j = 0; j < O; j++) gradP[i * O + j] += xv * dz[r * O + j]!;
    }
  for (let r = 0; r < rows; r++) for (let j = 0; j < O; j++) gradP[I * O + j] += dz[r * O + j]!;
  const dIn = new C(rows * I);
  for (let r = 0; r < rows; r++)
    for (let i = 0; i < I; i++) {
      let s = 0;
      for (let j = 0; j < O; j++) s += p[i * O + j]! * dz[r * O + j]!;
      dIn[r * I + i] = s;
    }
  return dIn;
}

/** The loss of `rows` outputs against targets: Σ ½ (out − y)² (a sum over rows), and dL/dout. */
export function lossGrad(out: Arr, y: Arr, rows: number, width: number, C: Ctor = Float64Array): { loss: number; dOut: Arr } {
  const dOut = new C(rows * width);
  let loss = 0;
  for (let k = 0; k < rows * width; k++) {
    const d = out[k]! - y[k]!;
    dOut[k] = d;
    loss += 0.5 * d * d;
  }
  return { loss, dOut };
}

/** The summed loss over `rows` examples and its gradient (written into grad, all Ψ elements). */
export function lossAndGrad(layout: MlpLayout, params: Arr, x: Arr, y: Arr, rows: number, grad: Arr, C: Ctor = Float64Array): number {
  const acts: Arr[] = [x];
  const block = (l: number) => params.subarray(layout.layers[l]!.offset, layout.layers[l]!.offset + layout.layers[l]!.size);
  for (let l = 0; l < layout.layers.length; l++) acts.push(forwardLayer(layout, l, block(l), acts[l]!, rows, C));
  const width = layout.sizes[layout.sizes.length - 1]!;
  const { loss, dOut } = lossGrad(acts[acts.length - 1]!, y, rows, width, C);
  let d = dOut;
  for (let l = layout.layers.length - 1; l >= 0; l--) {
    const L = layout.layers[l]!;
    d = backwardLayer(layout, l, block(l), acts[l]!, acts[l + 1]!, d, rows, grad.subarray(L.offset, L.offset + L.size), C);
  }
  return loss;
}

// ---- optimizers ------------------------------------------------------------------------------

export type OptimizerConfig = { kind: 'sgd'; lr: number } | { kind: 'adam'; lr: number; beta1: number; beta2: number; eps: number };

export const ADAM = { kind: 'adam' as const, lr: 0.01, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/**
 * One update of p[i] for i in [from, to) from the gradient g (indexed the same way), step t
 * (from 1). Adam: m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; p −= lr · (m/(1−β1^t)) / (√(v/(1−β2^t)) + eps).
 */
export function update(cfg: OptimizerConfig, p: Arr, g: Arr, m: Arr | null, v: Arr | null, t: number): void {
  if (cfg.kind === 'sgd') {
    for (let i = 0; i < p.length; i++) p[i] -= cfg.lr * g[i]!;
    return;
  }
  const c1 = 1 - Math.pow(cfg.beta1, t);
  const c2 = 1 - Math.pow(cfg.beta2, t);
  for (let i = 0; i < p.length; i++) {
    const gi = g[i]!;
    m![i] = cfg.beta1 * m![i]! + (1 - cfg.beta1) * gi;
    v![i] = cfg.beta2 * v![i]! + (1 - cfg.beta2) * gi * gi;
    p[i] -= (cfg.lr * (m![i]! / c1)) / (Math.sqrt(v![i]! / c2) + cfg.eps);
  }
}

// ---- the tensor-parallel blocks --------------------------------------------------------------

const GELU_C = Math.sqrt(2 / Math.PI);
/** GeLU, tanh form: 0.5 z (1 + tanh(√(2/π) (z + 0.044715 z³))). */
export function gelu(z: number): number {
  return 0.5 * z * (1 + Math.tanh(GELU_C * (z + 0.044715 * z * z * z)));
}
export function geluGrad(z: number): number {
  const t = Math.tanh(GELU_C * (z + 0.044715 * z * z * z));
  return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * z * z);
}

/** C [n, m] = A [n, k] · B [k, m] (row-major; transposes by flags). */
export function matmul(A: Arr, B: Arr, n: number, k: number, m: number, tA = false, tB = false, C: Ctor = Float64Array): Arr {
  const out = new C(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += (tA ? A[q * n + i]! : A[i * k + q]!) * (tB ? B[j * k + q]! : B[q * m + j]!);
      out[i * m + j] = s;
    }
  return out;
}

export interface MlpBlockGrads {
  w1: Float64Array;
  b1: Float64Array;
  w2: Float64Array;
  b2: Float64Array;
}

/** The MLP block y = gelu(x W1 + b1) W2 + b2, x [T, d], and its backward from dy, in float64. */
export function mlpBlock(x: Arr, w: { w1: Arr; b1: Arr; w2: Arr; b2: Arr }, T: number, d: number, h: number, dy: Arr): { y: Float64Array; dx: Float64Array; grads: MlpBlockGrads } {
  const z = matmul(x, w.w1, T, d, h);
  for (let t = 0; t < T; t++) for (let j = 0; j < h; j++) z[t * h + j] += w.b1[j]!;
  const u = z.map(gelu);
  const y = matmul(u, w.w2, T, h, d) as Float64Array;
  for (let t = 0; t < T; t++) for (let j = 0; j < d; j++) y[t * d + j] += w.b2[j]!;
  const b2 = new Float64Array(d);
  for (let t = 0; t < T; t++) for (let j = 0; j < d; j++) b2[j] += dy[t * d + j]!;
  const w2 = matmul(u, dy, h, T, d, true) as Float64Array;
  const du = matmul(dy, w.w2, T, d, h, false, true);
  const dz = du.map((g, k) => g * geluGrad(z[k]!));
  const w1 = matmul(x, dz, d, T, h, true) as Float64Array;
  const b1 = new Float64Array(h);
  for (let t = 0; t < T; t++) for (let j = 0; j < h; j++) b1[j] += dz[t * h + j]!;
  const dx = matmul(dz, w.w1, T, h, d, false, true) as Float64Array;
  return { y, dx, grads: { w1, b1, w2, b2 } };
}

export interface AttentionGrads {
  wq: Float64Array;
  wk: Float64Array;
  wv: Float64Array;
  wo: Float64Array;
}

/**
 * Causal self-attention y = concat_h(softmax(q_h k_hᵀ / √e + mask) v_h) Wo with q = x Wq,
 * k = x Wk, v = x Wv (no biases), x [T, d], H heads of width e; and its backward, in float64.
 */
export function attentionBlock(
  x: Arr,
  w: { wq: Arr; wk: Arr; wv: Arr; wo: Arr },
  T: number,
  d: number,
  H: number,
  e: number,
  dy: Arr,
): { y: Float64Array; dx: Float64Array; grads: AttentionGrads } {
  const He = H * e;
  const q = matmul(x, w.wq, T, d, He);
  const k = matmul(x, w.wk, T, d, He);
  const v = matmul(x, w.wv, T, d, He);
  const scale = 1 / Math.sqrt(e);
  const P = new Float64Array(H * T * T);
  const o = new Float64Array(T * He);
  for (let h = 0; h < H; h++)
    for (let i = 0; i < T; i++) {
      let mx = -Infinity;
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let c = 0; c < e; c++) s += q[i * He + h * e + c]! * k[j * He + h * e + c]!;
        P[(h * T + i) * T + j] = s * scale;
        mx = Math.max(mx, s * scale);
      }
      let sum = 0;
      for (let j = 0; j <= i; j++) sum += P[(h * T + i) * T + j] = Math.exp(P[(h * T + i) * T + j]! - mx);
      for (let j = 0; j <= i; j++) P[(h * T + i) * T + j] /= sum;
      for (let c = 0; c < e; c++) {
        let s = 0;
        for (let j = 0; j <= i; j++) s += P[(h * T + i) * T + j]! * v[j * He + h * e + c]!;
        o[i * He + h * e + c] = s;
      }
    }
  const y = matmul(o, w.wo, T, He, d) as Float64Array;
  const wo = matmul(o, dy, He, T, d, true) as Float64Array;
  const dout = matmul(dy, w.wo, T, d, He, false, true);
  const dq = new Float64Array(T * He);
  const dk = new Float64Array(T * He);
  const dv = new Float64Array(T * He);
  for (let h = 0; h < H; h++)
    for (let i = 0; i < T; i++) {
      const dP = new Float64Array(i + 1);
      let dot = 0;
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let c = 0; c < e; c++) s += dout[i * He + h * e + c]! * v[j * He + h * e + c]!;
        dP[j] = s;
        dot += s * P[(h * T + i) * T + j]!;
      }
      for (let j = 0; j <= i; j++) {
        const p = P[(h * T + i) * T + j]!;
        const dS = p * (dP[j]! - dot) * scale;
        for (let c = 0; c < e; c++) {
          dq[i * He + h * e + c] += dS * k[j * He + h * e + c]!;
          dk[j * He + h * e + c] += dS * q[i * He + h * e + c]!;
          dv[j * He + h * e + c] += p * dout[i * He + h * e + c]!;
        }
      }
    }
  const wq = matmul(x, dq, d, T, He, true) as Float64Array;
  const wk = matmul(x, dk, d, T, He, true) as Float64Array;
  const wv = matmul(x, dv, d, T, He, true) as Float64Array;
  const dx = matmul(dq, w.wq, T, He, d, false, true) as Float64Array;
  const dxk = matmul(dk, w.wk, T, He, d, false, true);
  const dxv = matmul(dv, w.wv, T, He, d, false, true);
  for (let i = 0; i < T * d; i++) dx[i] += dxk[i]! + dxv[i]!;
  return { y, dx, grads: { wq, wk, wv, wo } };
}
