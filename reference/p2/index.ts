// Reference solution for Project 2 (course staff only; never shipped to students).
import * as tf from '@tensorflow/tfjs';
import type { AttentionOptions, Decoder, DecoderLayer, FlashOptions, GenerateOptions, GenerateResult, MhaOptions, MhaWeights } from '../../projects/p2/api.ts';

const NEG = -1e30;

/** Additive mask [Sq, Sk]: 0 where query i may see key j (j <= i + Sk - Sq, offset by q0/k0), NEG elsewhere. */
function causalMask(Sq: number, Sk: number, shift: number, q0 = 0, k0 = 0): tf.Tensor2D {
  return tf.tidy(() => {
    const i = tf.range(q0, q0 + Sq, 1, 'int32').reshape([Sq, 1]);
    const j = tf.range(k0, k0 + Sk, 1, 'int32').reshape([1, Sk]);
    return tf.where(tf.lessEqual(j, tf.add(i, shift)), tf.zeros([Sq, Sk]), tf.fill([Sq, Sk], NEG)) as tf.Tensor2D;
  });
}

export function attention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: AttentionOptions): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , Sq] = q.shape;
    const Sk = k.shape[2];
    let s = tf.mul(tf.matMul(q, k, false, true), opts.scale);
    if (opts.causal) s = tf.add(s, causalMask(Sq, Sk, Sk - Sq));
    return tf.matMul(tf.softmax(s), v) as tf.Tensor4D;
  });
}

/**
 * [B, Hkv, S, d] -> [B, Hkv * group, S, d], each kv head repeated for its group of query heads.
 * A gather along the head axis keeps every tensor at rank 4 (tfjs-webgpu has no rank-5 tile).
 */
function repeatKv(x: tf.Tensor4D, group: number): tf.Tensor4D {
  if (group === 1) return x;
  const Hkv = x.shape[1];
  const idx = tf.tensor1d(Array.from({ length: Hkv * group }, (_, h) => Math.floor(h / group)), 'int32');
  return tf.gather(x, idx, 1) as tf.Tensor4D;
}

function heads(x: tf.Tensor, B: number, S: number, H: number, d: number): tf.Tensor4D {
  return x.reshape([B, S, H, d]).transpose([0, 2, 1, 3]);
}

export function multiHeadAttention(x: tf.Tensor3D, w: MhaWeights, opts: MhaOptions): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, S, dModel] = x.shape;
    const d = w.wq.shape[1] / opts.nHeads;
    const x2 = x.reshape([B * S, dModel]);
    const q = heads(tf.matMul(x2, w.wq), B, S, opts.nHeads, d);
    const group = opts.nHeads / opts.nKvHeads;
    const k = repeatKv(heads(tf.matMul(x2, w.wk), B, S, opts.nKvHeads, d), group);
    const v = repeatKv(heads(tf.matMul(x2, w.wv), B, S, opts.nKvHeads, d), group);
    const o = attention(q, k, v, { causal: opts.causal, scale: 1 / Math.sqrt(d) });
    return tf.matMul(o.transpose([0, 2, 1, 3]).reshape([B * S, opts.nHeads * d]), w.wo).reshape([B, S, dModel]) as tf.Tensor3D;
  });
}

export function flashAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: FlashOptions): { out: tf.Tensor4D; lse: tf.Tensor3D } {
  const [B, H, Sq, D] = q.shape;
  const Sk = k.shape[2];
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const shift = Sk - Sq;
  const outs: tf.Tensor[] = [];
  const lses: tf.Tensor[] = [];
  for (let q0 = 0; q0 < Sq; q0 += opts.blockQ) {
    const bq = Math.min(opts.blockQ, Sq - q0);
    const [o, l] = tf.tidy(() => {
      const qb = tf.mul(q.slice([0, 0, q0, 0], [B, H, bq, D]), scale);
      let m: tf.Tensor = tf.fill([B, H, bq, 1], NEG);
      let l: tf.Tensor = tf.zeros([B, H, bq, 1]);
      let acc: tf.Tensor = tf.zeros([B, H, bq, D]);
      // Keys past the block's last visible one are skipped entirely when causal.
      const kEnd = opts.causal ? Math.min(Sk, q0 + bq + shift) : Sk;
      for (let k0 = 0; k0 < kEnd; k0 += opts.blockK) {
        const bk = Math.min(opts.blockK, kEnd - k0);
        const step = tf.tidy(() => {
          let s = tf.matMul(qb, k.slice([0, 0, k0, 0], [B, H, bk, D]), false, true);
          if (opts.causal && k0 + bk - 1 > q0 + shift) s = tf.add(s, causalMask(bq, bk, shift, q0, k0));
          const mNew = tf.maximum(m, tf.max(s, -1, true));
          const p = tf.exp(tf.sub(s, mNew));
          const alpha = tf.exp(tf.sub(m, mNew));
          const lNew = tf.add(tf.mul(l, alpha), tf.sum(p, -1, true));
          const accNew = tf.add(tf.mul(acc, alpha), tf.matMul(p, v.slice([0, 0, k0, 0], [B, H, bk, D])));
          return [mNew, lNew, accNew];
        });
        tf.dispose([m, l, acc]);
        [m, l, acc] = step as [tf.Tensor, tf.Tensor, tf.Tensor];
      }
      return [tf.div(acc, l), tf.add(m, tf.log(l)).reshape([B, H, bq])];
    });
    outs.push(o!);
    lses.push(l!);
  }
  const out = tf.concat(outs, 2) as tf.Tensor4D;
  const lse = tf.concat(lses, 2) as tf.Tensor3D;
  tf.dispose([...outs, ...lses]);
  return { out, lse };
}

// ---- the decoder, with and without a KV cache ----------------------------------------------

function layerNorm(x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D, eps: number): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b) as tf.Tensor2D;
}

function gelu(x: tf.Tensor): tf.Tensor {
  const c = Math.sqrt(2 / Math.PI);
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.tanh(tf.mul(c, tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));
}

/** Per layer: K and V of every token seen so far, [kvHeads, T, headDim]. */
class KVCache {
  k: (tf.Tensor3D | null)[];
  v: (tf.Tensor3D | null)[];
  constructor(layers: number) {
    this.k = Array(layers).fill(null);
    this.v = Array(layers).fill(null);
  }
  append(layer: number, k: tf.Tensor3D, v: tf.Tensor3D): [tf.Tensor3D, tf.Tensor3D] {
    const cat = (old: tf.Tensor3D | null, x: tf.Tensor3D) => (old ? (tf.concat([old, x], 1) as tf.Tensor3D) : tf.keep(x.clone()));
    const nk = tf.keep(cat(this.k[layer]!, k));
    const nv = tf.keep(cat(this.v[layer]!, v));
    this.k[layer]?.dispose();
    this.v[layer]?.dispose();
    this.k[layer] = nk;
    this.v[layer] = nv;
    return [nk, nv];
  }
  get tokens(): number {
    return this.k[0]?.shape[1] ?? 0;
  }
  bytes(): number {
    return [...this.k, ...this.v].reduce((a, t) => a + (t ? t.size * 4 : 0), 0);
  }
  dispose(): void {
    tf.dispose([...this.k, ...this.v].filter((t): t is tf.Tensor3D => t !== null));
  }
}

function block(model: Decoder, L: DecoderLayer, li: number, x: tf.Tensor2D, start: number, cache: KVCache | null): tf.Tensor2D {
  const c = model.config;
  const T = x.shape[0];
  const h = layerNorm(x, L.ln1G, L.ln1B, c.lnEps);
  const q = h.matMul(L.wq).reshape([T, c.nHeads, c.headDim]).transpose([1, 0, 2]) as tf.Tensor3D;
  let k = h.matMul(L.wk).reshape([T, c.nKvHeads, c.headDim]).transpose([1, 0, 2]) as tf.Tensor3D;
  let v = h.matMul(L.wv).reshape([T, c.nKvHeads, c.headDim]).transpose([1, 0, 2]) as tf.Tensor3D;
  if (cache) [k, v] = cache.append(li, k, v);
  const Sk = k.shape[1];
  const group = c.nHeads / c.nKvHeads;
  const rep = (t: tf.Tensor3D) => repeatKv(t.reshape([1, c.nKvHeads, Sk, c.headDim]), group);
  const a = attention(q.reshape([1, c.nHeads, T, c.headDim]), rep(k), rep(v), { causal: true, scale: 1 / Math.sqrt(c.headDim) });
  const merged = a.reshape([c.nHeads, T, c.headDim]).transpose([1, 0, 2]).reshape([T, c.nHeads * c.headDim]);
  const x1 = tf.add(x, merged.matMul(L.wo)) as tf.Tensor2D;
  const h2 = layerNorm(x1, L.ln2G, L.ln2B, c.lnEps);
  const f = gelu(tf.add(h2.matMul(L.w1), L.b1)) as tf.Tensor2D;
  return tf.add(x1, tf.add(f.matMul(L.w2), L.b2)) as tf.Tensor2D;
}

/** Logits [T, vocab] for `tokens` at positions start.., appending to the cache when given. */
function forward(model: Decoder, tokens: number[], start: number, cache: KVCache | null): tf.Tensor2D {
  return tf.tidy(() => {
    const c = model.config;
    const ids = tf.tensor1d(tokens, 'int32');
    let x = tf.add(tf.gather(model.tokEmb, ids), model.posEmb.slice([start, 0], [tokens.length, c.dModel])) as tf.Tensor2D;
    model.layers.forEach((L, li) => (x = block(model, L, li, x, start, cache)));
    return layerNorm(x, model.lnFG, model.lnFB, c.lnEps).matMul(model.wOut) as tf.Tensor2D;
  });
}

export async function generate(model: Decoder, prompt: number[], nNew: number, opts: GenerateOptions): Promise<GenerateResult> {
  const cache = opts.useCache ? new KVCache(model.layers.length) : null;
  const seq = [...prompt];
  const tokens: number[] = [];
  const rows: tf.Tensor[] = [];
  for (let i = 0; i < nNew; i++) {
    // With the cache: the prompt once, then one token a step. Without: the whole sequence each step.
    const feed = cache ? (i === 0 ? seq : [seq[seq.length - 1]!]) : seq;
    const start = cache ? seq.length - feed.length : 0;
    const logits = forward(model, feed, start, cache);
    const last = tf.tidy(() => logits.slice([logits.shape[0] - 1, 0], [1, model.config.vocab]));
    logits.dispose();
    const best = tf.argMax(last, 1);
    const next = (await best.data())[0]!;
    best.dispose();
    rows.push(last);
    tokens.push(next);
    seq.push(next);
    opts.onToken(next);
  }
  const out = tf.concat(rows, 0) as tf.Tensor2D;
  tf.dispose(rows);
  const result = { tokens, logits: out, cacheBytes: cache ? cache.bytes() : 0, cachedTokens: cache ? cache.tokens : 0 };
  cache?.dispose();
  return result;
}

export function linearAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, opts: { causal: boolean }): tf.Tensor4D {
  return tf.tidy(() => {
    const phi = (x: tf.Tensor) => tf.add(tf.elu(x), 1);
    const [B, H, S, D] = q.shape;
    const fq = phi(q);
    const fk = phi(k);
    if (!opts.causal) {
      const state = tf.matMul(fk, v, true, false); // [B,H,D,D]
      const z = tf.sum(fk, 2, true); // [B,H,1,D]
      const num = tf.matMul(fq, state);
      const den = tf.sum(tf.mul(fq, z), -1, true);
      return tf.div(num, den) as tf.Tensor4D;
    }
    // Causal: running sums of φ(k)ᵀv and φ(k) along the sequence (the O(S) recurrent state),
    // with batch and heads merged so every tensor stays at rank 4 (for tfjs-webgpu).
    const BH = B * H;
    const outer = tf.mul(fk.reshape([BH, S, D, 1]), v.reshape([BH, S, 1, D])); // [BH,S,D,D]
    const state = tf.cumsum(outer, 1);
    const z = tf.cumsum(fk, 2); // [B,H,S,D]
    const num = tf.sum(tf.mul(fq.reshape([BH, S, D, 1]), state), 2).reshape([B, H, S, D]);
    const den = tf.sum(tf.mul(fq, z), -1, true);
    return tf.div(num, den) as tf.Tensor4D;
  });
}
