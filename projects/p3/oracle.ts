// Trusted, simple, slow float64 implementations of every kernel: what answers are checked
// against. They ship to students (read them: they define the expected results exactly).
// Inputs are the float32 values the harness filled the GPU buffers with (see
// harness/child/gpu/fill.ts); all arithmetic here is float64.
import { fillCpu, fillKey, fillRange, fillValue, type FillSpec } from '../../harness/child/gpu/fill.ts';
import { attentionScale, outputMatrix, type AttentionDims, type Dims, type Family, type LayernormDims, type MatmulDims, type RowsDims } from './spec.ts';

type Arr = ArrayLike<number>;

/** c[i, j] = Σ_k a[i, k] · b[k, j]; a [M, K], b [K, N], row-major. */
export function matmul(a: Arr, b: Arr, { M, N, K }: MatmulDims): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let k = 0; k < K; k++) {
      const aik = a[i * K + k]!;
      if (aik === 0) continue;
      for (let j = 0; j < N; j++) c[i * N + j] += aik * b[k * N + j]!;
    }
  return c;
}

/** y[r, :] = exp(x[r, :] − max) / Σ exp(x[r, :] − max), row by row. */
export function softmaxRow(x: Arr, off: number, cols: number, out: Float64Array, outOff: number): void {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) m = Math.max(m, x[off + j]!);
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(x[off + j]! - m);
  for (let j = 0; j < cols; j++) out[outOff + j] = Math.exp(x[off + j]! - m) / s;
}

export function softmax(x: Arr, { rows, cols }: RowsDims): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) softmaxRow(x, r * cols, cols, y, r * cols);
  return y;
}

/**
 * y[r, j] = (x[r, j] − μ) / sqrt(σ² + eps) · gamma[j] + beta[j], with μ and σ² the mean and the
 * (biased, divide-by-cols) variance of row r.
 */
export function layernormRow(x: Arr, off: number, gamma: Arr, beta: Arr, cols: number, eps: number, out: Float64Array, outOff: number): void {
  let mean = 0;
  for (let j = 0; j < cols; j++) mean += x[off + j]!;
  mean /= cols;
  let v = 0;
  for (let j = 0; j < cols; j++) v += (x[off + j]! - mean) ** 2;
  v /= cols;
  const inv = 1 / Math.sqrt(v + Math.fround(eps));
  for (let j = 0; j < cols; j++) out[outOff + j] = (x[off + j]! - mean) * inv * gamma[j]! + beta[j]!;
}

export function layernorm(x: Arr, gamma: Arr, beta: Arr, { rows, cols, eps }: LayernormDims): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) layernormRow(x, r * cols, gamma, beta, cols, eps, y, r * cols);
  return y;
}

/** y[r] = Σ_j x[r, j]; also Σ_j |x[r, j]| (which the tolerance scales with). */
export function reduceRows(x: Arr, { rows, cols }: RowsDims): { sum: Float64Array; sumAbs: Float64Array } {
  const sum = new Float64Array(rows);
  const sumAbs = new Float64Array(rows);
  for (let r = 0; r < rows; r++)
    for (let j = 0; j < cols; j++) {
      sum[r] += x[r * cols + j]!;
      sumAbs[r] += Math.abs(x[r * cols + j]!);
    }
  return { sum, sumAbs };
}

/** y[j, i] = x[i, j]; x [rows, cols], y [cols, rows]. */
export function transpose(x: Arr, { rows, cols }: RowsDims): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) y[j * rows + i] = x[i * cols + j]!;
  return y;
}

/**
 * One output row of attention: o[i, :] = Σ_j softmax_j(scale · q[i, :]·k[j, :]) · v[j, :], with
 * scale = 1/√D and, when causal, keys j ≤ i + (Sk − Sq) only (the last query sees every key).
 */
export function attentionRow(qRow: Arr, k: Arr, v: Arr, i: number, d: AttentionDims, out: Float64Array, outOff: number): void {
  const { Sq, Sk, D, causal } = d;
  const scale = Math.fround(attentionScale(D));
  const last = causal ? Math.min(Sk - 1, i + Sk - Sq) : Sk - 1;
  for (let c = 0; c < D; c++) out[outOff + c] = 0;
  if (last < 0) return; // a query that sees no key: the output row is 0 (cannot happen with Sq <= Sk)
  const s = new Float64Array(last + 1);
  let m = -Infinity;
  for (let j = 0; j <= last; j++) {
    let dot = 0;
    for (let c = 0; c < D; c++) dot += qRow[c]! * k[j * D + c]!;
    s[j] = dot * scale;
    m = Math.max(m, s[j]!);
  }
  let sum = 0;
  for (let j = 0; j <= last; j++) {
    s[j] = Math.exp(s[j]! - m);
    sum += s[j]!;
  }
  for (let j = 0; j <= last; j++) {
    const w = s[j]! / sum;
    for (let c = 0; c < D; c++) out[outOff + c] += w * v[j * D + c]!;
  }
}

export function attention(q: Float32Array, k: Float32Array, v: Float32Array, d: AttentionDims): Float64Array {
  const { B, H, Sq, Sk, D } = d;
  const o = new Float64Array(B * H * Sq * D);
  for (let bh = 0; bh < B * H; bh++) {
    const ks = k.subarray(bh * Sk * D, (bh + 1) * Sk * D);
    const vs = v.subarray(bh * Sk * D, (bh + 1) * Sk * D);
    for (let i = 0; i < Sq; i++) {
      const off = (bh * Sq + i) * D;
      attentionRow(q.subarray(off, off + D), ks, vs, i, d, o, off);
    }
  }
  return o;
}

/** Expected values, and per-element absolute tolerances where they depend on the data. */
export interface Expected {
  values: Float64Array;
  /** Extra absolute tolerance per element (reductions: proportional to Σ|x|). */
  atol?: Float64Array;
}

/** Every output element, from the filled inputs (for outputs small enough to check whole). */
export function expectedFull(family: Family, dims: Dims, fills: Record<string, FillSpec>): Expected {
  const f = (name: string) => fillCpu(fills[name]!);
  switch (family) {
    case 'matmul':
      return { values: matmul(f('a'), f('b'), dims as MatmulDims) };
    case 'softmax':
      return { values: softmax(f('x'), dims as RowsDims) };
    case 'layernorm':
      return { values: layernorm(f('x'), f('gamma'), f('beta'), dims as LayernormDims) };
    case 'reduce_sum': {
      const r = reduceRows(f('x'), dims as RowsDims);
      return { values: r.sum, atol: r.sumAbs };
    }
    case 'transpose':
      return { values: transpose(f('x'), dims as RowsDims) };
    case 'attention_fwd':
      return { values: attention(f('q'), f('k'), f('v'), dims as AttentionDims) };
  }
}

/** The output elements at `indices` only, generating just the inputs they depend on. */
export function expectedAt(family: Family, dims: Dims, fills: Record<string, FillSpec>, indices: Uint32Array): Expected {
  const [, C] = outputMatrix(family, dims);
  const values = new Float64Array(indices.length);
  const rowCache = new Map<number, Float64Array>();
  const row = (r: number, make: (r: number) => Float64Array) => {
    let x = rowCache.get(r);
    if (!x) {
      x = make(r);
      rowCache.set(r, x);
    }
    return x;
  };
  switch (family) {
    case 'matmul': {
      const { N, K } = dims as MatmulDims;
      const a = fills.a!;
      const b = fills.b!;
      const kb = fillKey(b);
      const aRows = new Map<number, Float32Array>();
      indices.forEach((idx, t) => {
        const i = Math.floor(idx / N);
        const j = idx % N;
        let ar = aRows.get(i);
        if (!ar) aRows.set(i, (ar = fillRange(a, i * K, K)));
        let s = 0;
        for (let k = 0; k < K; k++) s += ar[k]! * fillValue(b, kb, k * N + j);
        values[t] = s;
      });
      return { values };
    }
    case 'softmax':
    case 'layernorm': {
      const { cols } = dims as RowsDims;
      const ln = family === 'layernorm' ? { gamma: fillCpu(fills.gamma!), beta: fillCpu(fills.beta!), eps: (dims as LayernormDims).eps } : null;
      indices.forEach((idx, t) => {
        const r = Math.floor(idx / C);
        const y = row(r, (rr) => {
          const x = fillRange(fills.x!, rr * cols, cols);
          const out = new Float64Array(cols);
          if (ln) layernormRow(x, 0, ln.gamma, ln.beta, cols, ln.eps, out, 0);
          else softmaxRow(x, 0, cols, out, 0);
          return out;
        });
        values[t] = y[idx % C]!;
      });
      return { values };
    }
    case 'reduce_sum': {
      const { cols } = dims as RowsDims;
      const atol = new Float64Array(indices.length);
      const chunk = 1 << 20;
      indices.forEach((r, t) => {
        let s = 0;
        let sa = 0;
        for (let j0 = 0; j0 < cols; j0 += chunk) {
          const x = fillRange(fills.x!, r * cols + j0, Math.min(chunk, cols - j0));
          for (let j = 0; j < x.length; j++) {
            s += x[j]!;
            sa += Math.abs(x[j]!);
          }
        }
        values[t] = s;
        atol[t] = sa;
      });
      return { values, atol };
    }
    case 'transpose': {
      const { rows, cols } = dims as RowsDims;
      const x = fills.x!;
      const key = fillKey(x);
      indices.forEach((idx, t) => {
        const j = Math.floor(idx / rows);
        const i = idx % rows;
        values[t] = fillValue(x, key, i * cols + j);
      });
      return { values };
    }
    case 'attention_fwd': {
      const d = dims as AttentionDims;
      const { Sq, Sk, D } = d;
      const slabs = new Map<number, { k: Float32Array; v: Float32Array }>();
      indices.forEach((idx, t) => {
        const r = Math.floor(idx / D); // (b·H + h)·Sq + i
        const o = row(r, (rr) => {
          const bh = Math.floor(rr / Sq);
          let slab = slabs.get(bh);
          if (!slab) {
            if (slabs.size > 4) slabs.clear();
            slab = { k: fillRange(fills.k!, bh * Sk * D, Sk * D), v: fillRange(fills.v!, bh * Sk * D, Sk * D) };
            slabs.set(bh, slab);
          }
          const out = new Float64Array(D);
          attentionRow(fillRange(fills.q!, rr * D, D), slab.k, slab.v, rr % Sq, d, out, 0);
          return out;
        });
        values[t] = o[idx % D]!;
      });
      return { values };
    }
  }
}
