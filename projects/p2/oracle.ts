// Trusted, simple, slow float64 implementations: what every answer is checked against. They
// ship to students (so they can read exactly what is expected).
type Arr = ArrayLike<number>;

/** Attention for one (batch, head): q [Sq, D], k, v [Sk, D] at the given offsets. */
function attendOne(
  q: Arr, k: Arr, v: Arr, qOff: number, kOff: number, Sq: number, Sk: number, D: number,
  causal: boolean, scale: number, out: Float64Array, outOff: number, lse: Float64Array | null, lseOff: number,
): void {
  const shift = Sk - Sq;
  const s = new Float64Array(Sk);
  for (let i = 0; i < Sq; i++) {
    const last = causal ? Math.min(Sk - 1, i + shift) : Sk - 1;
    let m = -Infinity;
    for (let j = 0; j <= last; j++) {
      let dot = 0;
      for (let d = 0; d < D; d++) dot += q[qOff + i * D + d]! * k[kOff + j * D + d]!;
      s[j] = dot * scale;
      if (s[j]! > m) m = s[j]!;
    }
    let sum = 0;
    for (let j = 0; j <= last; j++) {
      s[j] = Math.exp(s[j]! - m);
      sum += s[j]!;
    }
    for (let d = 0; d < D; d++) {
      let acc = 0;
      for (let j = 0; j <= last; j++) acc += s[j]! * v[kOff + j * D + d]!;
      out[outOff + i * D + d] = acc / sum;
    }
    if (lse) lse[lseOff + i] = m + Math.log(sum);
  }
}

export interface AttnDims {
  B: number;
  H: number;
  Sq: number;
  Sk: number;
  D: number;
}

/** q [B,H,Sq,D], k/v [B,Hkv,Sk,D] (Hkv divides H); returns out [B,H,Sq,D] and lse [B,H,Sq]. */
export function attention(q: Arr, k: Arr, v: Arr, dims: AttnDims & { Hkv?: number }, causal: boolean, scale: number) {
  const { B, H, Sq, Sk, D } = dims;
  const Hkv = dims.Hkv ?? H;
  const group = H / Hkv;
  const out = new Float64Array(B * H * Sq * D);
  const lse = new Float64Array(B * H * Sq);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      attendOne(q, k, v, ((b * H + h) * Sq) * D, ((b * Hkv + kvh) * Sk) * D, Sq, Sk, D, causal, scale, out, ((b * H + h) * Sq) * D, lse, (b * H + h) * Sq);
    }
  return { out, lse };
}

/** a [M,K] · b [K,N] in float64. */
export function matmul(a: Arr, b: Arr, M: number, K: number, N: number): Float64Array {
  const c = new Float64Array(M * N);
  for (let i = 0; i < M; i++)
    for (let p = 0; p < K; p++) {
      const x = a[i * K + p]!;
      if (x === 0) continue;
      for (let j = 0; j < N; j++) c[i * N + j] += x * b[p * N + j]!;
    }
  return c;
}

/** [B, S, H, d] (row-major) <-> [B, H, S, d]. */
export function splitHeads(x: Arr, B: number, S: number, H: number, d: number): Float64Array {
  const out = new Float64Array(B * H * S * d);
  for (let b = 0; b < B; b++)
    for (let s = 0; s < S; s++)
      for (let h = 0; h < H; h++)
        for (let e = 0; e < d; e++) out[((b * H + h) * S + s) * d + e] = x[((b * S + s) * H + h) * d + e]!;
  return out;
}

export function mergeHeads(x: Arr, B: number, S: number, H: number, d: number): Float64Array {
  const out = new Float64Array(B * S * H * d);
  for (let b = 0; b < B; b++)
    for (let s = 0; s < S; s++)
      for (let h = 0; h < H; h++)
        for (let e = 0; e < d; e++) out[((b * S + s) * H + h) * d + e] = x[((b * H + h) * S + s) * d + e]!;
  return out;
}

export interface MhaDims {
  B: number;
  S: number;
  dModel: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
}

export function multiHeadAttention(x: Arr, wq: Arr, wk: Arr, wv: Arr, wo: Arr, d: MhaDims, causal: boolean): Float64Array {
  const { B, S, dModel, nHeads, nKvHeads, headDim } = d;
  const q = splitHeads(matmul(x, wq, B * S, dModel, nHeads * headDim), B, S, nHeads, headDim);
  const k = splitHeads(matmul(x, wk, B * S, dModel, nKvHeads * headDim), B, S, nKvHeads, headDim);
  const v = splitHeads(matmul(x, wv, B * S, dModel, nKvHeads * headDim), B, S, nKvHeads, headDim);
  const { out } = attention(q, k, v, { B, H: nHeads, Hkv: nKvHeads, Sq: S, Sk: S, D: headDim }, causal, 1 / Math.sqrt(headDim));
  return matmul(mergeHeads(out, B, S, nHeads, headDim), wo, B * S, nHeads * headDim, dModel);
}

const phi = (x: number) => (x > 0 ? x + 1 : Math.exp(x));

/** out_i = φ(q_i)·Σ_j φ(k_j) v_jᵀ / φ(q_i)·Σ_j φ(k_j), over j <= i when causal. */
export function linearAttention(q: Arr, k: Arr, v: Arr, B: number, H: number, S: number, D: number, causal: boolean): Float64Array {
  const out = new Float64Array(B * H * S * D);
  for (let bh = 0; bh < B * H; bh++) {
    const base = bh * S * D;
    const state = new Float64Array(D * D);
    const z = new Float64Array(D);
    const add = (j: number) => {
      for (let a = 0; a < D; a++) {
        const ka = phi(k[base + j * D + a]!);
        z[a] += ka;
        for (let c = 0; c < D; c++) state[a * D + c] += ka * v[base + j * D + c]!;
      }
    };
    if (!causal) for (let j = 0; j < S; j++) add(j);
    for (let i = 0; i < S; i++) {
      if (causal) add(i);
      let den = 0;
      for (let a = 0; a < D; a++) den += phi(q[base + i * D + a]!) * z[a]!;
      for (let c = 0; c < D; c++) {
        let num = 0;
        for (let a = 0; a < D; a++) num += phi(q[base + i * D + a]!) * state[a * D + c]!;
        out[base + i * D + c] = num / den;
      }
    }
  }
  return out;
}
