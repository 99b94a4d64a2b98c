// Project 2, attention and KV caching: the tasks, their cases, oracles, checks, metrics and
// points. Formulas for the metrics are in projects/p2/README.md.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { allclose, all, expectTensor, isCheckResult, type Tolerance } from '../../harness/check/compare.ts';
import { defineProject, defineTask, type CheckResult } from '../../harness/project.ts';
import { tensor, type Record_, type Tensor } from '../../harness/protocol/values.ts';
import type { Rng } from '../../harness/rng.ts';
import { DEFAULT_DECODER, decoderLogits, decoderWeights } from './decoder.ts';
import * as oracle from './oracle.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
const TOL: Tolerance = { rtol: 1e-3, atol: 1e-4 };
// Full speed credit at 70% of the reference's speed: a submission as fast as the reference keeps
// full credit through run-to-run noise; none at a quarter of it.
const PERF = { share: 0.3, target: 0.7, floor: 0.25 };

const t = (v: unknown) => v as Tensor;
const check = (r: Tensor | CheckResult, f: (x: Tensor) => CheckResult): CheckResult => (isCheckResult(r) ? r : f(r));

// ---- attention -------------------------------------------------------------------------------
export interface AttnP {
  B: number;
  H: number;
  Sq: number;
  Sk: number;
  D: number;
  causal: boolean;
  /** Multiplies q and k so logits reach ~1e3 (numerical stability). */
  big?: boolean;
}

function qkv(p: AttnP, rng: Rng): Record_ {
  const s = p.big ? 8 : 1;
  return {
    q: tensor('float32', [p.B, p.H, p.Sq, p.D], rng.normals(p.B * p.H * p.Sq * p.D, s)),
    k: tensor('float32', [p.B, p.H, p.Sk, p.D], rng.normals(p.B * p.H * p.Sk * p.D, s)),
    v: tensor('float32', [p.B, p.H, p.Sk, p.D], rng.normals(p.B * p.H * p.Sk * p.D)),
  };
}

const attnFlops = (p: { B: number; H: number; Sq: number; Sk: number; D: number; causal: boolean }) =>
  (4 * p.B * p.H * p.Sq * p.Sk * p.D) / (p.causal ? 2 : 1);

export const c = <P>(label: string, params: P) => ({ label, params });

const attentionTask = defineTask<AttnP, Float64Array>({
  id: 'attention',
  title: 'Scaled dot-product attention',
  points: 3,
  public: [
    c('B1 H2 S16 D16', { B: 1, H: 2, Sq: 16, Sk: 16, D: 16, causal: false }),
    c('causal B1 H2 S16 D16', { B: 1, H: 2, Sq: 16, Sk: 16, D: 16, causal: true }),
    c('causal Sq8 < Sk24, B2 D32', { B: 2, H: 2, Sq: 8, Sk: 24, D: 32, causal: true }),
    c('causal decode step Sq1 Sk33', { B: 1, H: 1, Sq: 1, Sk: 33, D: 16, causal: true }),
    // Public so that a softmax without the row maximum fails here, not only in the hidden cases.
    c('logits ~1e3, causal B1 H2 S12 D16', { B: 1, H: 2, Sq: 12, Sk: 12, D: 16, causal: true, big: true }),
  ],
  generate: (p, rng) => ({ ...qkv(p, rng), opts: { causal: p.causal, scale: 1 / Math.sqrt(p.D) } }),
  oracle: (p, i) => oracle.attention(t(i.q).data, t(i.k).data, t(i.v).data, p, p.causal, 1 / Math.sqrt(p.D)).out,
  check: (p, _i, o, e) =>
    check(expectTensor(o, 'out', 'float32', [p.B, p.H, p.Sq, p.D]), (x) => allclose('out', x, e, p.big ? { rtol: 1e-3, atol: 2e-3 } : TOL)),
  perf: { case: c('causal B1 H4 S128 D32', { B: 1, H: 4, Sq: 128, Sk: 128, D: 32, causal: true }), ...PERF },
  metrics: (p, tm) => ({ gflops: attnFlops(p) / (tm.ms * 1e6) }),
});

// ---- multi-head / grouped-query attention ---------------------------------------------------
export interface MhaP {
  B: number;
  S: number;
  dModel: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  causal: boolean;
}

const mhaTask = defineTask<MhaP, Float64Array>({
  id: 'multiHeadAttention',
  title: 'Multi-head and grouped-query attention',
  points: 3,
  public: [
    c('MHA 4 heads', { B: 1, S: 8, dModel: 32, nHeads: 4, nKvHeads: 4, headDim: 8, causal: false }),
    c('GQA 4q/2kv causal', { B: 1, S: 12, dModel: 32, nHeads: 4, nKvHeads: 2, headDim: 8, causal: true }),
    c('MQA 4q/1kv causal B2', { B: 2, S: 10, dModel: 32, nHeads: 4, nKvHeads: 1, headDim: 8, causal: true }),
  ],
  generate: (p, rng) => {
    const w = (r: number, k: number) => tensor('float32', [r, k], rng.normals(r * k, 1 / Math.sqrt(r)));
    return {
      x: tensor('float32', [p.B, p.S, p.dModel], rng.normals(p.B * p.S * p.dModel)),
      wq: w(p.dModel, p.nHeads * p.headDim),
      wk: w(p.dModel, p.nKvHeads * p.headDim),
      wv: w(p.dModel, p.nKvHeads * p.headDim),
      wo: w(p.nHeads * p.headDim, p.dModel),
      opts: { nHeads: p.nHeads, nKvHeads: p.nKvHeads, causal: p.causal },
    };
  },
  oracle: (p, i) => oracle.multiHeadAttention(t(i.x).data, t(i.wq).data, t(i.wk).data, t(i.wv).data, t(i.wo).data, p, p.causal),
  check: (p, _i, o, e) => check(expectTensor(o, 'out', 'float32', [p.B, p.S, p.dModel]), (x) => allclose('out', x, e, { rtol: 1e-3, atol: 2e-4 })),
  perf: { case: c('GQA B1 S64 d64 4q/2kv causal', { B: 1, S: 64, dModel: 64, nHeads: 4, nKvHeads: 2, headDim: 16, causal: true }), ...PERF },
  metrics: (p, tm) => {
    const proj = 2 * p.B * p.S * p.dModel * (2 * p.nHeads * p.headDim + 2 * p.nKvHeads * p.headDim);
    return { gflops: (proj + attnFlops({ B: p.B, H: p.nHeads, Sq: p.S, Sk: p.S, D: p.headDim, causal: p.causal })) / (tm.ms * 1e6) };
  },
});

// ---- flash attention -------------------------------------------------------------------------
export interface FlashP extends AttnP {
  blockQ: number;
  blockK: number;
  /** Check that peak memory stays O(S·D). */
  memory?: boolean;
}

/** Peak bytes allowed above the inputs: O(S·D) plus a few score tiles. The S² of plain attention is far above. */
export function flashMemoryBudget(p: FlashP): number {
  return 6 * p.B * p.H * (p.Sq + p.Sk) * p.D * 4 + 4 * p.B * p.H * p.blockQ * p.blockK * 4 + 65536;
}

const flashTask = defineTask<FlashP, { out: Float64Array; lse: Float64Array }>({
  id: 'flashAttention',
  title: 'FlashAttention-style tiling with online softmax',
  points: 5,
  measureMemory: true,
  public: [
    c('S32 blocks 8x8', { B: 1, H: 2, Sq: 32, Sk: 32, D: 16, causal: false, blockQ: 8, blockK: 8 }),
    c('causal S30, blocks 8x8 (not dividing)', { B: 1, H: 2, Sq: 30, Sk: 30, D: 16, causal: true, blockQ: 8, blockK: 8 }),
    c('causal Sq20 Sk40 blocks 16x12', { B: 1, H: 2, Sq: 20, Sk: 40, D: 16, causal: true, blockQ: 16, blockK: 12 }),
    c('memory: S1024 D16 blocks 64x64', { B: 1, H: 2, Sq: 1024, Sk: 1024, D: 16, causal: false, blockQ: 64, blockK: 64, memory: true }),
    // Public so that an online softmax that does not rescale by the running maximum fails here.
    c('logits ~1e3, causal S24 blocks 8x8', { B: 1, H: 2, Sq: 24, Sk: 24, D: 16, causal: true, blockQ: 8, blockK: 8, big: true }),
  ],
  generate: (p, rng) => ({ ...qkv(p, rng), opts: { causal: p.causal, blockQ: p.blockQ, blockK: p.blockK, scale: 1 / Math.sqrt(p.D) } }),
  oracle: (p, i) => oracle.attention(t(i.q).data, t(i.k).data, t(i.v).data, p, p.causal, 1 / Math.sqrt(p.D)),
  check: (p, _i, o, e, extras) => {
    const tol = p.big ? { rtol: 1e-3, atol: 2e-3 } : TOL;
    const r = all(
      check(expectTensor(o, 'out', 'float32', [p.B, p.H, p.Sq, p.D]), (x) => allclose('out', x, e.out, tol)),
      check(expectTensor(o, 'lse', 'float32', [p.B, p.H, p.Sq]), (x) => allclose('lse', x, e.lse, { rtol: 1e-4, atol: p.big ? 2e-2 : 1e-3 })),
    );
    if (!r.ok || !p.memory || extras.peakBytes === null) return r;
    const budget = flashMemoryBudget(p);
    const details = { ...r.details, peak_bytes: extras.peakBytes, peak_budget_bytes: budget };
    if (extras.peakBytes > budget)
      return {
        ok: false,
        message:
          `peak tensor memory during the call was ${extras.peakBytes} bytes, over the O(S·D) budget of ${budget} bytes ` +
          `(a full score matrix B·H·Sq·Sk·4 is ${p.B * p.H * p.Sq * p.Sk * 4} bytes): tile over keys and dispose each tile`,
        details,
      };
    return { ...r, details };
  },
  perf: { case: c('causal B1 H4 S256 D32 blocks 64x64', { B: 1, H: 4, Sq: 256, Sk: 256, D: 32, causal: true, blockQ: 64, blockK: 64 }), ...PERF },
  metrics: (p, tm) => ({ gflops: attnFlops(p) / (tm.ms * 1e6) }),
});

// ---- KV cache and greedy generation ---------------------------------------------------------
export interface GenP {
  prompt: number;
  nNew: number;
  mode: 'both' | 'cached' | 'uncached';
}

const CFG = DEFAULT_DECODER;
const CACHE_BYTES_PER_TOKEN = 2 * CFG.nLayers * CFG.nKvHeads * CFG.headDim * 4;

/** Checks one generation against the float64 decoder run on the tokens it chose (teacher forcing). */
function checkGeneration(which: string, p: GenP, inputs: Record_, out: Record_ | undefined, useCache: boolean): CheckResult {
  if (!out) return { ok: false, message: `no ${which} result` };
  const toks = t(out.tokens).data;
  if (toks.length !== p.nNew) return { ok: false, message: `${which}: ${toks.length} tokens returned, expected ${p.nNew}` };
  for (let i = 0; i < toks.length; i++)
    if (!(toks[i]! >= 0 && toks[i]! < CFG.vocab)) return { ok: false, message: `${which}: token ${i} is ${toks[i]}, not in [0, ${CFG.vocab})` };
  const seen = t(out.on_token).data;
  const list = (xs: ArrayLike<number>) => `[${Array.from(xs).slice(0, 12).join(', ')}${xs.length > 12 ? ', ...' : ''}]`;
  if (seen.length !== p.nNew)
    return { ok: false, message: `${which}: onToken was called ${seen.length} times; expected once per new token (${p.nNew} times), with that token` };
  if (seen.some((x, i) => x !== toks[i]))
    return { ok: false, message: `${which}: onToken was given ${list(seen)}, but the tokens returned are ${list(toks)}: call it with each new token as it is chosen` };
  const prompt = Array.from(t(inputs.prompt).data);
  const seq = [...prompt, ...Array.from(toks).slice(0, -1)];
  const full = decoderLogits(CFG, inputs.weights as Record_, seq);
  const V = CFG.vocab;
  const expected = full.subarray((prompt.length - 1) * V);
  const lg = expectTensor(out, 'logits', 'float32', [p.nNew, V]);
  const r = check(lg, (x) => allclose(`${which} logits`, x, expected, { rtol: 1e-3, atol: 1e-3 }));
  if (!r.ok) return r;
  for (let i = 0; i < p.nNew; i++) {
    const row = expected.subarray(i * V, (i + 1) * V);
    const best = Math.max(...row);
    if (row[toks[i]!]! < best - 1e-3 * (1 + Math.abs(best)))
      return { ok: false, message: `${which}: new token ${i} is ${toks[i]} but the greedy choice is ${row.indexOf(best)} (logit ${best.toFixed(4)} vs ${row[toks[i]!]!.toFixed(4)})` };
  }
  if (useCache) {
    const bytes = Number(out.cache_bytes);
    const held = Number(out.cached_tokens);
    const n = prompt.length + p.nNew;
    if (held !== n - 1 && held !== n)
      return { ok: false, message: `${which}: the cache reports ${held} tokens; after a prompt of ${prompt.length} and ${p.nNew} new tokens it should hold ${n - 1} (or ${n})` };
    if (bytes !== held * CACHE_BYTES_PER_TOKEN)
      return {
        ok: false,
        message: `${which}: the cache reports ${bytes} bytes for ${held} tokens; expected ${held * CACHE_BYTES_PER_TOKEN} (2 · layers ${CFG.nLayers} · kvHeads ${CFG.nKvHeads} · headDim ${CFG.headDim} · 4 bytes per token)`,
      };
  }
  return { ...r, message: `${which}: ${r.message}` };
}

const generateTask = defineTask<GenP, null>({
  id: 'generate',
  title: 'KV-cache incremental decoding (greedy)',
  points: 4,
  timeoutMs: 60000,
  public: [
    c('prompt 5, 6 new', { prompt: 5, nNew: 6, mode: 'both' }),
    c('prompt 1, 4 new', { prompt: 1, nNew: 4, mode: 'both' }),
    c('prompt 20, 10 new', { prompt: 20, nNew: 10, mode: 'both' }),
  ],
  generate: (p, rng) => ({
    config: { ...CFG },
    weights: decoderWeights(CFG, rng),
    prompt: tensor('int32', [p.prompt], Int32Array.from({ length: p.prompt }, () => rng.int(0, CFG.vocab - 1))),
    nNew: p.nNew,
    mode: p.mode,
  }),
  oracle: () => null,
  check: (p, inputs, o) => {
    const parts: CheckResult[] = [];
    if (p.mode !== 'uncached') parts.push(checkGeneration('with cache', p, inputs, o.cached as Record_, true));
    if (p.mode !== 'cached') parts.push(checkGeneration('without cache', p, inputs, o.plain as Record_, false));
    if (p.mode === 'both' && parts.every((x) => x.ok)) {
      const a = t((o.cached as Record_).tokens).data;
      const b = t((o.plain as Record_).tokens).data;
      if (a.some((x, i) => x !== b[i])) parts.push({ ok: false, message: `cached and uncached generation chose different tokens: [${a}] vs [${b}]` });
    }
    return all(...parts);
  },
  perf: { case: c('cached, prompt 32, 16 new', { prompt: 32, nNew: 16, mode: 'cached' }), ...PERF },
  // The decode series: per-token time against context length, with and without the cache.
  bench: [16, 64, 128, 192].flatMap((ctx) => [
    c(`cached, context ${ctx}, 8 new`, { prompt: ctx, nNew: 8, mode: 'cached' as const }),
    c(`uncached, context ${ctx}, 8 new`, { prompt: ctx, nNew: 8, mode: 'uncached' as const }),
  ]),
  metrics: (p, tm, calls) => {
    const m: Record<string, number> = { tokens_per_s: p.nNew / (tm.ms / 1000) };
    const ttft: number[] = [];
    const tpot: number[] = [];
    for (const { outputs } of calls) {
      const r = (outputs.cached ?? outputs.plain) as Record_;
      // What the submission's cache reported holding, per token it held.
      if (p.mode === 'cached' && Number(r.cached_tokens) > 0) m.cache_bytes_per_token = Number(r.cache_bytes) / Number(r.cached_tokens);
      const times = t(r.token_times_ms).data;
      if (!times.length) continue;
      ttft.push(times[0]!);
      if (times.length > 1) tpot.push((times[times.length - 1]! - times[0]!) / (times.length - 1));
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
    if (ttft.length) m.ttft_ms = med(ttft);
    if (tpot.length) m.tpot_ms = med(tpot);
    return m;
  },
});

// ---- linear attention ------------------------------------------------------------------------
export interface LinP {
  B: number;
  H: number;
  S: number;
  D: number;
  causal: boolean;
}

const linearTask = defineTask<LinP, Float64Array>({
  id: 'linearAttention',
  title: 'Linear attention, φ(x) = elu(x) + 1',
  points: 3,
  public: [
    c('B1 H2 S16 D8', { B: 1, H: 2, S: 16, D: 8, causal: false }),
    c('causal B1 H2 S16 D8', { B: 1, H: 2, S: 16, D: 8, causal: true }),
    c('causal B2 S33 D16', { B: 2, H: 1, S: 33, D: 16, causal: true }),
  ],
  generate: (p, rng) => ({ ...qkv({ B: p.B, H: p.H, Sq: p.S, Sk: p.S, D: p.D, causal: p.causal }, rng), opts: { causal: p.causal } }),
  oracle: (p, i) => oracle.linearAttention(t(i.q).data, t(i.k).data, t(i.v).data, p.B, p.H, p.S, p.D, p.causal),
  check: (p, _i, o, e) => check(expectTensor(o, 'out', 'float32', [p.B, p.H, p.S, p.D]), (x) => allclose('out', x, e, { rtol: 1e-3, atol: 2e-4 })),
  perf: { case: c('causal B1 H4 S256 D32', { B: 1, H: 4, S: 256, D: 32, causal: true }), ...PERF },
  // φ(k)ᵀv accumulation and the query products: about 4·B·H·S·D² flops.
  metrics: (p, tm) => ({ gflops: (4 * p.B * p.H * p.S * p.D * p.D) / (tm.ms * 1e6) }),
});

export default defineProject({
  id: 'p2',
  aliases: ['attention', 'kv', 'p2-attention'],
  title: 'Attention and KV caching',
  child: path.join(here, 'child.ts'),
  graderOnly: [path.join(here, 'oracle.ts')],
  typeFiles: [path.join(here, 'api.ts')],
  // tfjs is what the project is about; tfjs-core is the part of it that it re-exports.
  packages: ['@tensorflow/tfjs', '@tensorflow/tfjs-core'],
  entries: ['index.ts', 'index.js'],
  gpu: 'optional', // tfjs may run on WebGPU
  tasks: [attentionTask, mhaTask, flashTask, generateTask, linearTask],
  milestones: {},
});
