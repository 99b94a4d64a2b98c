// The project's small GPT-style decoder: its configuration, its seeded weights (generated on
// the trusted side and sent as inputs), and its float64 forward pass (the oracle for generate).
import { tensor, type Record_, type Tensor } from '../../harness/protocol/values.ts';
import type { Rng } from '../../harness/rng.ts';
import type { DecoderConfig } from './api.ts';
import { attention, matmul, mergeHeads, splitHeads } from './oracle.ts';

export const DEFAULT_DECODER: DecoderConfig = {
  vocab: 256,
  dModel: 64,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  headDim: 16,
  dFF: 256,
  maxSeq: 256,
  lnEps: 1e-5,
};

const LAYER_SHAPES = (c: DecoderConfig): Record<string, number[]> => ({
  ln1G: [c.dModel],
  ln1B: [c.dModel],
  wq: [c.dModel, c.nHeads * c.headDim],
  wk: [c.dModel, c.nKvHeads * c.headDim],
  wv: [c.dModel, c.nKvHeads * c.headDim],
  wo: [c.nHeads * c.headDim, c.dModel],
  ln2G: [c.dModel],
  ln2B: [c.dModel],
  w1: [c.dModel, c.dFF],
  b1: [c.dFF],
  w2: [c.dFF, c.dModel],
  b2: [c.dModel],
});

/** Weights as wire tensors: {tokEmb, posEmb, lnFG, lnFB, wOut, layers: [{...}]}. */
export function decoderWeights(c: DecoderConfig, rng: Rng): Record_ {
  const w = (shape: number[], std: number) => tensor('float32', shape, rng.normals(shape.reduce((a, b) => a * b, 1), std));
  const gain = (n: number) => tensor('float32', [n], Float32Array.from({ length: n }, () => 1 + 0.1 * rng.normal()));
  const layers: Record_[] = [];
  for (let l = 0; l < c.nLayers; l++) {
    const layer: Record_ = {};
    for (const [name, shape] of Object.entries(LAYER_SHAPES(c))) {
      if (name.endsWith('G')) layer[name] = gain(shape[0]!);
      else if (shape.length === 1) layer[name] = w(shape, 0.1);
      else layer[name] = w(shape, 1 / Math.sqrt(shape[0]!));
    }
    layers.push(layer);
  }
  return {
    tokEmb: w([c.vocab, c.dModel], 1),
    posEmb: w([c.maxSeq, c.dModel], 0.5),
    lnFG: gain(c.dModel),
    lnFB: w([c.dModel], 0.1),
    // Large enough output weights that greedy choices are well separated.
    wOut: w([c.dModel, c.vocab], 2 / Math.sqrt(c.dModel)),
    layers,
  };
}

function layerNorm(x: Float64Array, rows: number, d: number, g: ArrayLike<number>, b: ArrayLike<number>, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < d; i++) mean += x[r * d + i]!;
    mean /= d;
    let v = 0;
    for (let i = 0; i < d; i++) v += (x[r * d + i]! - mean) ** 2;
    const inv = 1 / Math.sqrt(v / d + eps);
    for (let i = 0; i < d; i++) out[r * d + i] = (x[r * d + i]! - mean) * inv * g[i]! + b[i]!;
  }
  return out;
}

/** GELU, tanh approximation (as GPT-2). */
export function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
}

/** Logits [T, vocab] of every position of `tokens`, in float64. */
export function decoderLogits(c: DecoderConfig, wts: Record_, tokens: number[]): Float64Array {
  const T = tokens.length;
  const d = c.dModel;
  const t = (v: unknown) => (v as Tensor).data;
  let x = new Float64Array(T * d);
  const tok = t(wts.tokEmb);
  const pos = t(wts.posEmb);
  for (let p = 0; p < T; p++) for (let i = 0; i < d; i++) x[p * d + i] = tok[tokens[p]! * d + i]! + pos[p * d + i]!;
  for (const L of wts.layers as Record_[]) {
    const h = layerNorm(x, T, d, t(L.ln1G), t(L.ln1B), c.lnEps);
    const q = splitHeads(matmul(h, t(L.wq), T, d, c.nHeads * c.headDim), 1, T, c.nHeads, c.headDim);
    const k = splitHeads(matmul(h, t(L.wk), T, d, c.nKvHeads * c.headDim), 1, T, c.nKvHeads, c.headDim);
    const v = splitHeads(matmul(h, t(L.wv), T, d, c.nKvHeads * c.headDim), 1, T, c.nKvHeads, c.headDim);
    const { out } = attention(q, k, v, { B: 1, H: c.nHeads, Hkv: c.nKvHeads, Sq: T, Sk: T, D: c.headDim }, true, 1 / Math.sqrt(c.headDim));
    const a = matmul(mergeHeads(out, 1, T, c.nHeads, c.headDim), t(L.wo), T, c.nHeads * c.headDim, d);
    x = x.map((xv, i) => xv + a[i]!);
    const h2 = layerNorm(x, T, d, t(L.ln2G), t(L.ln2B), c.lnEps);
    const f = matmul(h2, t(L.w1), T, d, c.dFF);
    const b1 = t(L.b1);
    for (let i = 0; i < f.length; i++) f[i] = gelu(f[i]! + b1[i % c.dFF]!);
    const m = matmul(f, t(L.w2), T, c.dFF, d);
    const b2 = t(L.b2);
    x = x.map((xv, i) => xv + m[i]! + b2[i % d]!);
  }
  const hf = layerNorm(x, T, d, t(wts.lnFG), t(wts.lnFB), c.lnEps);
  return matmul(hf, t(wts.wOut), T, d, c.vocab);
}
