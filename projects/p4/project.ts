// Project 4, vector databases: the tasks, their cases, oracles, checks, metrics and points.
// The rules, the metrics and their formulas are in projects/p4/README.md.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineProject, defineTask, type CaseSpec, type CheckResult, type MeasuredCase, type Task, type TimedCall, type Timing } from '../../harness/project.ts';
import { isTensor, tensor, type Record_, type Tensor } from '../../harness/protocol/values.ts';
import { Rng, seedFrom } from '../../harness/rng.ts';
import type { Metric } from './api.ts';
import { blobs, dataset, DatasetMissingError, FASHION, GT_K } from './datasets.ts';
import { distance, exactKnn, recallCount } from './oracle.ts';
import { sharedPieces, whole } from './wire.ts';

const here = path.dirname(fileURLToPath(import.meta.url));

export type IndexName = 'FlatIndex' | 'IVFFlatIndex' | 'HNSWIndex' | 'PQIndex';

export interface AnnP {
  index: IndexName;
  metric: Metric;
  k: number;
  /** Queries per call (each searched on its own, timed on its own). */
  nq: number;
  /** Constructor options besides dim and metric. */
  build: Record<string, number>;
  /** Query parameters (efSearch, nprobe, rerank). */
  query: Record<string, number>;
  /** A named data set (datasets.ts); otherwise blobs generated from the case's seed: */
  dataset?: string;
  n?: number;
  d?: number;
  centers?: number;
  /** Integer coordinates, every vector added three times: many exactly tied distances. */
  ties?: boolean;
  /** The last `inserts` vectors are added after the first build. */
  inserts?: number;
  /** Ids removed after the inserts. */
  removes?: number;
  /** Each id gets one of `categories` categories; a `fraction` of the queries only accept one. */
  filter?: { categories: number; fraction: number };
  /** The index is saved, loaded back with the class's static load, and the loaded one is searched. */
  saveLoad?: boolean;
  /** Search all queries with one searchBatch call (bench only). */
  batch?: boolean;
  /** Checks: the exact top-k; a recall floor; PQ's memory budget. */
  exact?: boolean;
  minRecall?: number;
  memory?: boolean;
}

/** What the checks need; never leaves the trusted side. */
export interface Expected {
  /** id → [vectors, row]: where each added vector is. */
  where: Map<number, [Float32Array, number]>;
  /** The ids in the order they were added (position i: the i-th vector added). */
  allIds: Int32Array;
  removed: Set<number>;
  categories: Int32Array | null;
  want: Int32Array | null;
  /** Results each query must have: min(k, eligible vectors). */
  count: Int32Array;
  /** The true k-th distance (or the last eligible one) per query. */
  kth: Float64Array;
  /** The true nearest ids and their distances, nq·k (−1 / Infinity past count). */
  gtIds: Int32Array;
  gtDists: Float64Array;
  /** Norms for the float32 tolerance: per query ‖q‖², and max ‖x‖² (l2); ‖q‖ and max ‖x‖ otherwise. */
  qScale: Float64Array;
  xScale: number;
}

export const c = <P>(label: string, params: P): CaseSpec<P> => ({ label, params });
const t = (v: unknown) => v as Tensor;

// ---- data -------------------------------------------------------------------------------------

interface Layout {
  base: Float32Array;
  ids: Int32Array;
  insV: Float32Array | null;
  insIds: Int32Array | null;
  removes: Int32Array | null;
  categories: Int32Array | null;
}

/** Distinct random ids (not 0…n−1, so an index must keep the ids it is given). */
function randomIds(rng: Rng, n: number): Int32Array {
  const span = 2 * n + 7;
  const all = Int32Array.from({ length: span }, (_, i) => i);
  for (let i = 0; i < n; i++) {
    const j = rng.int(i, span - 1);
    const x = all[i]!;
    all[i] = all[j]!;
    all[j] = x;
  }
  return all.slice(0, n);
}

/** Splits vectors and ids into the first build and the inserts; picks removes and categories. */
function layout(p: AnnP, vectors: Float32Array, ids: Int32Array, d: number, rng: Rng): Layout {
  const n = ids.length;
  const ins = Math.min(p.inserts ?? 0, n - 1);
  const n0 = n - ins;
  const out: Layout = {
    base: vectors.subarray(0, n0 * d),
    ids: ids.subarray(0, n0),
    insV: ins ? vectors.subarray(n0 * d, n * d) : null,
    insIds: ins ? ids.subarray(n0) : null,
    removes: null,
    categories: null,
  };
  if (p.removes) {
    const pick = Int32Array.from(ids);
    const r = Math.min(p.removes, n - 1);
    for (let i = 0; i < r; i++) {
      const j = rng.int(i, n - 1);
      const x = pick[i]!;
      pick[i] = pick[j]!;
      pick[j] = x;
    }
    out.removes = pick.slice(0, r);
  }
  if (p.filter) {
    let max = 0;
    for (const id of ids) max = Math.max(max, id);
    out.categories = Int32Array.from({ length: max + 1 }, () => rng.int(0, p.filter!.categories - 1));
  }
  return out;
}

function generate(p: AnnP, rng: Rng): Record_ {
  let d: number;
  let queries: Float32Array;
  let lay: Layout;
  let key = '';
  let wrap: (name: string, v: Tensor) => Record_[string] = (_n, v) => v;
  if (p.dataset) {
    let ds;
    try {
      ds = dataset(p.dataset);
    } catch (e) {
      if (e instanceof DatasetMissingError) return { missing: e.message };
      throw e;
    }
    d = ds.d;
    // The queries of a call: distinct queries of the data set, chosen by the call's seed.
    const pick = Int32Array.from({ length: ds.nq }, (_, i) => i);
    const nq = Math.min(p.nq, ds.nq);
    for (let i = 0; i < nq; i++) {
      const j = rng.int(i, ds.nq - 1);
      const x = pick[i]!;
      pick[i] = pick[j]!;
      pick[j] = x;
    }
    queries = new Float32Array(nq * d);
    for (let i = 0; i < nq; i++) queries.set(ds.queries.subarray(pick[i]! * d, pick[i]! * d + d), i * d);
    // The index itself (and so any inserts, removes and categories) is the same for every call.
    const mut = JSON.stringify([p.inserts ?? 0, p.removes ?? 0, p.filter?.categories ?? 0]);
    lay = layout(p, ds.base, Int32Array.from({ length: ds.n }, (_, i) => i), d, new Rng(seedFrom('p4', ds.hash, 'mutations', mut)));
    key = [ds.name, ds.hash, p.index, p.metric, JSON.stringify(p.build), mut].join('|');
    const prefix = `p4:${ds.name}:${ds.hash}:${mut}`;
    wrap = (name, v) => sharedPieces(`${prefix}:${name}`, v);
    return {
      ...wireInputs(p, d, lay, queries, key, wrap, rng),
      query_rows: tensor('int32', [nq], pick.slice(0, nq)),
    };
  }
  d = p.d!;
  const n = p.n!;
  let all: Float32Array;
  let ids: Int32Array;
  if (p.ties) {
    // Integer points, each added three times under different ids: equal distances everywhere.
    const uniq = Math.ceil(n / 3);
    const pts = blobs(rng, uniq + p.nq, d, p.centers ?? 10, 1.5, 4).map(Math.round);
    all = new Float32Array((n + p.nq) * d);
    for (let i = 0; i < n; i++) all.set(pts.subarray((i % uniq) * d, (i % uniq) * d + d), i * d);
    all.set(pts.subarray(uniq * d), n * d);
  } else all = blobs(rng, n + p.nq, d, p.centers ?? 10);
  ids = randomIds(rng, n);
  queries = all.slice(n * d);
  lay = layout(p, all.subarray(0, n * d), ids, d, rng);
  return wireInputs(p, d, lay, queries, key, wrap, rng);
}

function wireInputs(p: AnnP, d: number, lay: Layout, queries: Float32Array, key: string, wrap: (n: string, v: Tensor) => Record_[string], rng: Rng): Record_ {
  const nq = queries.length / d;
  const inputs: Record_ = {
    index: p.index,
    dim: d,
    metric: p.metric,
    k: p.k,
    build: { ...p.build },
    query: { ...p.query },
    key,
    base: wrap('base', tensor('float32', [lay.ids.length, d], lay.base)),
    ids: wrap('ids', tensor('int32', [lay.ids.length], lay.ids)),
    queries: tensor('float32', [nq, d], queries),
    save_load: Boolean(p.saveLoad),
    batch: Boolean(p.batch),
  };
  if (lay.insV && lay.insIds)
    inputs.inserts = { vectors: wrap('ins', tensor('float32', [lay.insIds.length, d], lay.insV)), ids: wrap('ins_ids', tensor('int32', [lay.insIds.length], lay.insIds)) };
  if (lay.removes) inputs.removes = wrap('removes', tensor('int32', [lay.removes.length], lay.removes));
  if (lay.categories && p.filter) {
    const f = p.filter;
    const want = Int32Array.from({ length: nq }, () => (rng.uniform() < f.fraction ? rng.int(0, f.categories - 1) : -1));
    inputs.filter = { categories: wrap('categories', tensor('int32', [lay.categories.length], lay.categories)), per_query: tensor('int32', [nq], want) };
  }
  return inputs;
}

// ---- oracle -------------------------------------------------------------------------------------

function norm2(a: Float32Array, o: number, d: number): number {
  let s = 0;
  for (let j = 0; j < d; j++) s += a[o + j]! * a[o + j]!;
  return s;
}

interface Corpus {
  where: Map<number, [Float32Array, number]>;
  all: Float32Array;
  allIds: Int32Array;
  /** max ‖x‖² over the vectors. */
  maxNorm2: number;
}

/** The id map, the concatenated vectors and their largest norm, kept per data set (by buffer). */
const corpora = new WeakMap<ArrayBufferLike, Map<string, Corpus>>();

function corpus(d: number, base: Float32Array, ids: Int32Array, insV: Float32Array | null, insIds: Int32Array | null): Corpus {
  const key = [base.byteOffset, base.length, ids.length, insV?.byteOffset ?? -1, insV?.length ?? 0, insIds?.[0] ?? -1].join(':');
  const byBuffer = corpora.get(base.buffer) ?? new Map<string, Corpus>();
  corpora.set(base.buffer, byBuffer);
  const had = byBuffer.get(key);
  if (had) return had;
  const where = new Map<number, [Float32Array, number]>();
  ids.forEach((id, r) => where.set(id, [base, r]));
  insIds?.forEach((id, r) => where.set(id, [insV!, r]));
  const n = ids.length + (insIds?.length ?? 0);
  const all = insV ? new Float32Array(n * d) : base;
  const allIds = insIds ? new Int32Array(n) : ids;
  if (insV && insIds) {
    all.set(base);
    all.set(insV, base.length);
    allIds.set(ids);
    allIds.set(insIds, ids.length);
  }
  let maxNorm2 = 0;
  for (let r = 0; r < n; r++) maxNorm2 = Math.max(maxNorm2, norm2(all, r * d, d));
  const c = { where, all, allIds, maxNorm2 };
  byBuffer.set(key, c);
  return c;
}

function oracle(p: AnnP, inputs: Record_): Expected | null {
  if (typeof inputs.missing === 'string') return null;
  const d = Number(inputs.dim);
  const k = p.k;
  const metric = p.metric;
  const base = whole(inputs.base).data as Float32Array;
  const ids = whole(inputs.ids).data as Int32Array;
  const ins = inputs.inserts as Record_ | undefined;
  const insV = ins ? (whole(ins.vectors).data as Float32Array) : null;
  const insIds = ins ? (whole(ins.ids).data as Int32Array) : null;
  const queries = t(inputs.queries).data as Float32Array;
  const nq = queries.length / d;
  const removed = new Set<number>(inputs.removes ? Array.from(whole(inputs.removes).data) : []);
  const filter = inputs.filter as Record_ | undefined;
  const categories = filter ? (whole(filter.categories).data as Int32Array) : null;
  const want = filter ? (t(filter.per_query).data as Int32Array) : null;

  // All vectors as one array (row → id), for the exact search.
  const { where, all, allIds, maxNorm2 } = corpus(d, base, ids, insV, insIds);
  const n = allIds.length;
  let xScale = maxNorm2;
  const qScale = Float64Array.from({ length: nq }, (_, i) => norm2(queries, i * d, d));
  if (metric !== 'l2') {
    xScale = Math.sqrt(xScale);
    qScale.forEach((v, i) => (qScale[i] = Math.sqrt(v)));
  }

  const count = new Int32Array(nq);
  const kth = new Float64Array(nq);
  const gtIds = new Int32Array(nq * k).fill(-1);
  const gtDists = new Float64Array(nq * k).fill(Infinity);
  const fill = (q: number, rowIds: Int32Array, dists: Float64Array, stride: number, at: number) => {
    let m = 0;
    for (let j = 0; j < k && rowIds[at * stride + j]! >= 0; j++, m++) {
      gtIds[q * k + j] = allIds[rowIds[at * stride + j]!]!;
      gtDists[q * k + j] = dists[at * stride + j]!;
    }
    count[q] = m;
    kth[q] = m ? gtDists[q * k + m - 1]! : NaN;
  };
  // Named data sets without changes: the cached ground truth (rows are ids there).
  const rows = inputs.query_rows ? (t(inputs.query_rows).data as Int32Array) : null;
  if (p.dataset && rows && !insV && !removed.size && !want && k <= GT_K) {
    const gt = dataset(p.dataset).gt;
    for (let q = 0; q < nq; q++) fill(q, gt.ids, gt.dists, GT_K, rows[q]!);
  } else {
    const live = new Uint8Array(n).fill(1);
    for (let r = 0; r < n; r++) if (removed.has(allIds[r]!)) live[r] = 0;
    // Unfiltered queries together; filtered ones grouped by their category.
    const groups = new Map<number, number[]>();
    for (let q = 0; q < nq; q++) {
      const g = want ? want[q]! : -1;
      if (!groups.has(g)) groups.set(g, []);
      groups.get(g)!.push(q);
    }
    for (const [g, qs] of groups) {
      let mask = live;
      if (g >= 0) {
        mask = new Uint8Array(n);
        for (let r = 0; r < n; r++) mask[r] = live[r]! && categories![allIds[r]!] === g ? 1 : 0;
      }
      const sub = new Float32Array(qs.length * d);
      qs.forEach((q, i) => sub.set(queries.subarray(q * d, q * d + d), i * d));
      const r = exactKnn(all, d, sub, k, metric, mask);
      qs.forEach((q, i) => fill(q, r.ids, r.dists, k, i));
    }
  }
  return { where, allIds, removed, categories, want, count, kth, gtIds, gtDists, qScale, xScale };
}

// ---- checks ------------------------------------------------------------------------------------

/** How far a distance computed in float32 may be from the float64 one. */
function tolerance(metric: Metric, dist: number, qScale: number, xScale: number): number {
  if (metric === 'l2') return 1e-5 * Math.abs(dist) + 4e-7 * (qScale + xScale) + 1e-9;
  if (metric === 'ip') return 1e-5 * Math.abs(dist) + 4e-7 * qScale * xScale + 1e-6;
  return 1e-5;
}

const fmt = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(7)).toString() : String(x));
const nth = (j: number) => `${j + 1}${j % 10 === 0 && j !== 10 ? 'st' : j % 10 === 1 && j !== 11 ? 'nd' : j % 10 === 2 && j !== 12 ? 'rd' : 'th'}`;

export interface Evaluation extends CheckResult {
  recall: number;
  recallIds: number;
  queries: number;
}

const METRIC_HINT: Record<Metric, string> = {
  l2: 'l2 distances are squared Euclidean distances',
  cosine: 'cosine distances are 1 − cos(q, x)',
  ip: 'ip distances are 1 − ⟨q, x⟩',
};

/** Validity (counts, ids, duplicates, order), recall, and the task's own demands. */
export function evaluate(p: AnnP, inputs: Record_, o: Record_, e: Expected): Evaluation {
  const fail = (message: string): Evaluation => ({ ok: false, message, recall: NaN, recallIds: NaN, queries: 0 });
  for (const name of ['ids', 'distances', 'counts'])
    if (!isTensor(o[name])) return fail(`internal: the output '${name}' is missing`);
  const d = Number(inputs.dim);
  const k = p.k;
  const ids = t(o.ids).data as Float64Array;
  const dists = t(o.distances).data as Float64Array;
  const counts = t(o.counts).data as Int32Array;
  const queries = t(inputs.queries).data as Float32Array;
  const nq = counts.length;
  const rerank = Number(p.query.rerank ?? 0);
  const checkDistances = p.index !== 'PQIndex' || rerank > 0;
  let at = 0;
  let hits = 0;
  let hitsIds = 0;
  let denom = 0;
  let maxDistErr = 0;
  for (let q = 0; q < nq; q++) {
    const got = counts[q]!;
    const need = e.count[q]!;
    const filtered = e.want !== null && e.want[q]! >= 0;
    if (got !== need) {
      const pool = `${need < k ? `only ${need} vectors are eligible` : `at least ${k} vectors are eligible`}${filtered ? ' (filtered search)' : ''}`;
      return fail(`query ${q}: ${got} results returned, expected ${need} (k = ${k}; ${pool}): a search must return min(k, eligible vectors) results`);
    }
    const seen = new Set<number>();
    const trueD = new Float64Array(got);
    for (let j = 0; j < got; j++) {
      const id = ids[at + j]!;
      const where = `query ${q}, result ${j}`;
      if (!Number.isInteger(id)) return fail(`${where}: id ${fmt(id)} is not an integer`);
      const w = e.where.get(id);
      if (!w) {
        // A position rather than an id, if the distance returned is that of the vector added there.
        const atPos = Number.isInteger(id) && id >= 0 && id < e.allIds.length ? e.where.get(e.allIds[id]!) : undefined;
        const posD = atPos ? distance(p.metric, queries, q, atPos[0], atPos[1], d) : NaN;
        const dj = dists[at + j]!;
        const positional = Math.abs(dj - posD) <= Math.max(tolerance(p.metric, posD, e.qScale[q]!, e.xScale), 1e-3 * Math.abs(posD) + 1e-3);
        return fail(
          `${where}: id ${id} was never added to the index` +
            (positional ? ` (its distance is that of the vector added at position ${id}: return the ids given to add() with the vectors, not positions)` : ''),
        );
      }
      if (e.removed.has(id)) return fail(`${where}: id ${id} was removed before the search`);
      if (filtered && e.categories![id] !== e.want![q]) return fail(`${where}: id ${id} does not satisfy the query's filter (category ${e.categories![id]}, the filter accepts ${e.want![q]})`);
      if (seen.has(id)) return fail(`query ${q}: id ${id} is returned twice (results ${ids.subarray(at, at + got).indexOf(id)} and ${j})`);
      seen.add(id);
      const dj = dists[at + j]!;
      if (!Number.isFinite(dj)) return fail(`${where}: distance ${dj} (id ${id}) is not finite`);
      if (j > 0 && dj < dists[at + j - 1]! - 1e-6 * Math.abs(dists[at + j - 1]!) - 1e-9)
        return fail(`query ${q}: results are not sorted nearest first: result ${j - 1} has distance ${fmt(dists[at + j - 1]!)}, result ${j} has ${fmt(dj)}`);
      trueD[j] = distance(p.metric, queries, q, w[0], w[1], d);
      const tol = tolerance(p.metric, trueD[j]!, e.qScale[q]!, e.xScale);
      const err = Math.abs(dj - trueD[j]!);
      maxDistErr = Math.max(maxDistErr, err);
      if (checkDistances && err > (p.exact ? tol : Math.max(tol, 1e-3 * Math.abs(trueD[j]!) + 1e-3))) {
        // The distance is right for the vector added at position `id`: positions, not ids.
        const atPos = id < e.allIds.length ? e.where.get(e.allIds[id]!) : undefined;
        const posD = atPos ? distance(p.metric, queries, q, atPos[0], atPos[1], d) : NaN;
        if (Math.abs(dj - posD) <= Math.max(tol, 1e-3 * Math.abs(posD) + 1e-3))
          return fail(
            `${where}: id ${id} is returned with the distance of the vector added at position ${id} (whose id is ${e.allIds[id]}): ` +
              'return the ids given to add() with the vectors, not their positions in your index',
          );
        return fail(`${where}: id ${id} is returned with distance ${fmt(dj)}, but its distance to the query is ${fmt(trueD[j]!)} (${METRIC_HINT[p.metric]})`);
      }
    }
    if (p.exact) {
      const sorted = Array.from(trueD).sort((a, b) => a - b);
      for (let j = 0; j < got; j++) {
        const g = e.gtDists[q * k + j]!;
        if (sorted[j]! > g + tolerance(p.metric, g, e.qScale[q]!, e.xScale)) {
          const missing = Array.from(e.gtIds.subarray(q * k, q * k + got)).find((id) => !seen.has(id));
          return fail(
            `query ${q}: not the exact ${k} nearest: the ${nth(j)} nearest vector is at distance ${fmt(g)}` +
              `${missing !== undefined ? ` (e.g. id ${missing}, not returned)` : ''}, but the ${nth(j)} smallest distance among the returned ids is ${fmt(sorted[j]!)}`,
          );
        }
      }
    }
    if (need > 0) {
      hits += Math.min(need, recallCount(p.metric, trueD, e.kth[q]!));
      const gt = new Set(e.gtIds.subarray(q * k, q * k + need));
      for (const id of seen) if (gt.has(id)) hitsIds++;
      denom += need;
    }
    at += got;
  }
  const exactCalls = isTensor(o.exact_calls) ? (t(o.exact_calls).data as Int32Array) : null;
  if (exactCalls && rerank >= 0 && p.index === 'PQIndex')
    for (let q = 0; q < nq; q++)
      if (exactCalls[q]! > rerank) return fail(`query ${q}: exactDistance was called ${exactCalls[q]} times, more than rerank = ${rerank}`);
  const recall = denom ? hits / denom : 1;
  const recallIds = denom ? hitsIds / denom : 1;
  const details: Record<string, number> = { [`recall@${k}`]: recall, [`recall@${k}_ids`]: recallIds, max_distance_error: maxDistErr };
  const bytes = Number(o.index_bytes);
  details.index_bytes = bytes;
  if (p.minRecall !== undefined && recall < p.minRecall) {
    const qp = Object.entries(p.query).map(([a, b]) => `${a} ${b}`).join(', ');
    const bp = Object.entries(p.build).map(([a, b]) => `${a} ${b}`).join(', ');
    return { ...fail(`recall@${k} is ${recall.toFixed(3)} over ${nq} queries, below this case's floor of ${p.minRecall} (${bp}; ${qp})`), details };
  }
  if (p.memory) {
    const n = e.where.size;
    const budget = pqBudget(p, n, d);
    const least = (n * p.build.m! * p.build.nbits!) / 8;
    if (!(bytes <= budget))
      return { ...fail(`bytes() reports ${bytes} bytes for ${n} vectors, over the budget of ${budget} (${(budget / n).toFixed(1)} per vector; a float32 vector alone is ${4 * d} bytes)`), details };
    if (bytes < least) return { ...fail(`bytes() reports ${bytes} bytes, less than the ${least} bytes the codes of ${n} vectors take (m · nbits / 8 each): count everything the index holds`), details };
  }
  const floor = p.minRecall !== undefined ? ` (floor ${p.minRecall})` : '';
  return { ok: true, message: `${nq} queries: recall@${k} ${recall.toFixed(3)}${floor}${p.exact ? ', exact' : ''}`, recall, recallIds, queries: nq, details };
}

/** PQ's memory budget: codes + id + 4 bytes per vector, the codebooks, the coarse centroids, 64 KiB. */
export function pqBudget(p: AnnP, n: number, d: number): number {
  const m = p.build.m!;
  const ksub = 2 ** p.build.nbits!;
  return n * (Math.ceil((m * p.build.nbits!) / 8) + 8) + 4 * d * (ksub + p.build.nlist!) + 65536;
}

function check(p: AnnP, inputs: Record_, o: Record_, e: Expected | null): CheckResult {
  if (typeof inputs.missing === 'string' || !e) return { ok: false, message: String(inputs.missing) };
  return evaluate(p, inputs, o, e);
}

// ---- metrics -----------------------------------------------------------------------------------

function quantile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Recall, QPS, latencies, build time, memory and distance computations of one timed case. */
function metrics(p: AnnP, timing: Timing, calls: TimedCall[]): Record<string, number> {
  const m: Record<string, number> = {};
  let hits = 0;
  let hitsIds = 0;
  let total = 0;
  const lat: number[] = [];
  let best = Infinity;
  let ndis = 0;
  let ndisN = 0;
  for (const call of calls) {
    const ev = evaluate(p, call.inputs, call.outputs, call.expected as Expected);
    if (ev.ok) {
      const w = (t(call.outputs.counts).data as Int32Array).reduce((a, b) => a + b, 0);
      hits += ev.recall * w;
      hitsIds += ev.recallIds * w;
      total += w;
    }
    const ms = Array.from(t(call.outputs.query_ms).data);
    lat.push(...ms);
    best = Math.min(best, ms.reduce((a, b) => a + b, 0) / ms.length);
    for (const x of t(call.outputs.distance_computations).data)
      if (Number.isFinite(x)) {
        ndis += x;
        ndisN++;
      }
    m.build_s = Number(call.outputs.build_ms) / 1000;
    m.index_bytes = Number(call.outputs.index_bytes);
  }
  if (total) {
    m[`recall@${p.k}`] = hits / total;
    m[`recall@${p.k}_ids`] = hitsIds / total;
  }
  lat.sort((a, b) => a - b);
  const nq = calls.length ? (t(calls[0]!.outputs.counts).data as Int32Array).length : p.nq;
  if (timing.ms > 0) m.qps_median = (1000 * nq) / timing.ms;
  if (lat.length) {
    m.qps = 1000 / best;
    m.p50_ms = quantile(lat, 0.5);
    m.p99_ms = quantile(lat, 0.99);
  }
  if (ndisN) m.distance_computations = ndis / ndisN;
  return m;
}

export interface FrontierPoint {
  recall: number;
  qps: number;
  label: string;
}

/** The Pareto frontier: points no other point beats on both recall and QPS, by recall ascending. */
export function paretoFrontier(points: FrontierPoint[]): FrontierPoint[] {
  const byRecall = [...points].filter((x) => Number.isFinite(x.recall) && Number.isFinite(x.qps)).sort((a, b) => b.recall - a.recall || b.qps - a.qps);
  const out: FrontierPoint[] = [];
  let bestQps = -Infinity;
  for (const x of byRecall)
    if (x.qps > bestQps) {
      out.push(x);
      bestQps = x.qps;
    }
  return out.reverse();
}

/**
 * QPS at a recall level on the frontier: linear interpolation (in recall) between the frontier
 * points on either side of it; the fastest point at or above it when none is below; null when no
 * point reaches it.
 */
export function qpsAtRecall(points: FrontierPoint[], target: number): number | null {
  const f = paretoFrontier(points);
  const above = f.filter((x) => x.recall >= target);
  if (!above.length) return null;
  const a = above[0]!; // the lowest recall ≥ target: the fastest of those
  const below = f.filter((x) => x.recall < target);
  const b = below[below.length - 1];
  if (!b || a.recall === b.recall) return a.qps;
  return a.qps + ((b.qps - a.qps) * (a.recall - target)) / (a.recall - b.recall);
}

export const TARGET_RECALL = 0.9;

const pointsOf = (cases: MeasuredCase[], qps: 'qps' | 'qps_median' = 'qps', k = 10): FrontierPoint[] =>
  cases.filter((x) => Number.isFinite(x.metrics[`recall@${k}`]) && Number.isFinite(x.metrics[qps])).map((x) => ({ recall: x.metrics[`recall@${k}`]!, qps: x.metrics[qps]!, label: x.label }));

/** The speedup of a swept task: QPS at recall@10 = 0.9, submission over reference (× memory for PQ). */
function frontierSpeedup(withMemory: boolean) {
  return (sub: MeasuredCase[], ref: MeasuredCase[]): { value: number | null; basis: string } => {
    const s = qpsAtRecall(pointsOf(sub, 'qps_median'), TARGET_RECALL);
    const r = qpsAtRecall(pointsOf(ref, 'qps_median'), TARGET_RECALL);
    if (r === null) return { value: null, basis: `the reference did not reach recall@10 ${TARGET_RECALL} on the sweep` };
    if (s === null) {
      const bestRecall = Math.max(...pointsOf(sub).map((x) => x.recall), 0);
      return { value: 0, basis: `the submission did not reach recall@10 ${TARGET_RECALL} on the sweep (best ${bestRecall.toFixed(3)})` };
    }
    let value = s / r;
    let basis = `QPS (median) at recall@10 ${TARGET_RECALL}: ${s.toFixed(0)} vs ${r.toFixed(0)} (reference), on the Pareto frontier of the sweep`;
    if (withMemory) {
      const sb = Math.max(...sub.map((x) => x.metrics.index_bytes ?? NaN).filter(Number.isFinite));
      const rb = Math.max(...ref.map((x) => x.metrics.index_bytes ?? NaN).filter(Number.isFinite));
      if (sb > 0 && rb > 0) {
        value = Math.sqrt(value * (rb / sb));
        basis += `; index memory ${sb} vs ${rb} bytes; speedup = √(QPS ratio · memory ratio)`;
      }
    }
    return { value, basis };
  };
}

/** Per data set and build: the recall–QPS frontier and QPS at recall 0.9, for bench.json. */
function benchSummary(cases: MeasuredCase[]): MeasuredCase[] {
  const groups = new Map<string, MeasuredCase[]>();
  for (const x of cases) {
    const p = x.params as AnnP;
    if (p.batch) continue;
    const key = JSON.stringify([p.dataset ?? 'generated', p.index, p.metric, p.build, p.inserts ?? 0, p.removes ?? 0, p.filter ?? null]);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(x);
  }
  const out: MeasuredCase[] = [];
  for (const g of groups.values()) {
    const pts = pointsOf(g);
    if (!pts.length) continue;
    const p = g[0]!.params as AnnP;
    const q = qpsAtRecall(pts, TARGET_RECALL);
    const qm = qpsAtRecall(pointsOf(g, 'qps_median'), TARGET_RECALL);
    const metrics: Record<string, number> = { frontier_points: paretoFrontier(pts).length, points: pts.length, best_recall: Math.max(...pts.map((x) => x.recall)) };
    if (q !== null) metrics['qps_at_recall_0.9'] = q;
    if (qm !== null) metrics['qps_median_at_recall_0.9'] = qm;
    out.push({
      impl: g[0]!.impl,
      label: `${p.dataset ?? 'generated'} ${p.index} ${Object.entries(p.build).map(([a, b]) => `${a}=${b}`).join(' ')}: recall–QPS frontier`,
      params: { dataset: p.dataset, index: p.index, metric: p.metric, build: p.build, frontier: paretoFrontier(pts) },
      metrics,
    });
  }
  return out;
}

// ---- tasks -------------------------------------------------------------------------------------

const PERF = { share: 0.3, target: 0.7, floor: 0.25 };
const XS = 'random-xs-20';
const B128 = 'blobs-128';
/** Queries per timed call on the synthetic sets (a call is then a few ms: the per-call overheads stay small). */
const NQ = 300;
/** Queries per timed call on Fashion-MNIST. */
const NQ_FASHION = 100;

type Base = Pick<AnnP, 'index' | 'metric' | 'k' | 'nq'>;
const on = (ds: string, b: Base, build: Record<string, number>) => (query: Record<string, number>, extra: Partial<AnnP> = {}): AnnP => ({
  ...b,
  dataset: ds,
  build,
  query,
  ...extra,
});

function annTask(o: {
  id: string;
  title: string;
  points: number;
  public: CaseSpec<AnnP>[];
  perf?: { case: CaseSpec<AnnP>; sweep?: CaseSpec<AnnP>[]; memory?: boolean };
  bench?: CaseSpec<AnnP>[];
  timeoutMs?: number;
}): Task<AnnP, Expected | null> {
  return defineTask<AnnP, Expected | null>({
    id: o.id,
    title: o.title,
    points: o.points,
    public: o.public,
    timeoutMs: o.timeoutMs ?? 30000,
    generate,
    oracle,
    check: (p, i, out, e) => check(p, i, out, e),
    perf: o.perf
      ? { case: o.perf.case, sweep: o.perf.sweep, ...(o.perf.sweep ? { speedup: frontierSpeedup(Boolean(o.perf.memory)) } : {}), ...PERF }
      : undefined,
    bench: o.bench,
    metrics,
    benchSummary,
  });
}

export const gen = (index: IndexName, metric: Metric, n: number, d: number, k: number, nq: number, build: Record<string, number>, query: Record<string, number>, extra: Partial<AnnP> = {}): AnnP => ({
  index,
  metric,
  n,
  d,
  k,
  nq,
  centers: 20,
  build,
  query,
  ...extra,
});

// 1. Exact search.
const flatXs = on(XS, { index: 'FlatIndex', metric: 'l2', k: 10, nq: NQ }, {});
const flatTask = annTask({
  id: 'flat',
  title: 'Exact (flat) search',
  points: 2,
  public: [
    c('l2, n 2000, d 20', gen('FlatIndex', 'l2', 2000, 20, 10, 50, {}, {}, { exact: true })),
    c('cosine, n 1500, d 32', gen('FlatIndex', 'cosine', 1500, 32, 10, 50, {}, {}, { exact: true })),
    c('ip, n 1000, d 16, k 5', gen('FlatIndex', 'ip', 1000, 16, 5, 40, {}, {}, { exact: true })),
    c('ties: integer points, each added 3 times', gen('FlatIndex', 'l2', 600, 8, 10, 40, {}, {}, { exact: true, ties: true })),
    c('fewer vectors (7) than k (10)', gen('FlatIndex', 'l2', 7, 12, 10, 10, {}, {}, { exact: true })),
  ],
  perf: { case: c('random-xs-20, 300 queries', flatXs({}, { exact: true })) },
  bench: [c('random-xs-20, 300 queries in one searchBatch call (search one by one where there is none)', flatXs({}, { exact: true, batch: true }))],
});

// 2. IVF-flat.
const ivfXs = on(XS, { index: 'IVFFlatIndex', metric: 'l2', k: 10, nq: NQ }, { nlist: 400, seed: 1 });
const ivf128 = on(B128, { index: 'IVFFlatIndex', metric: 'l2', k: 10, nq: NQ }, { nlist: 100, seed: 1 });
const ivfTask = annTask({
  id: 'ivf',
  title: 'IVF-flat: k-means cells, nprobe at query time',
  points: 2,
  public: [
    c('l2, n 4000, nlist 32, nprobe 8', gen('IVFFlatIndex', 'l2', 4000, 16, 10, 50, { nlist: 32, seed: 3 }, { nprobe: 8 }, { minRecall: 0.9 })),
    c('cosine, n 3000, nlist 24, nprobe 6', gen('IVFFlatIndex', 'cosine', 3000, 24, 10, 50, { nlist: 24, seed: 4 }, { nprobe: 6 }, { minRecall: 0.85 })),
    c('nprobe = nlist is exact', gen('IVFFlatIndex', 'l2', 1500, 12, 10, 40, { nlist: 10, seed: 5 }, { nprobe: 10 }, { exact: true })),
    // Cells of about 5 vectors, one probed: a search must go on to the next cells for k results.
    c('small cells: nlist 120, nprobe 1', gen('IVFFlatIndex', 'l2', 600, 8, 10, 40, { nlist: 120, seed: 6 }, { nprobe: 1 }, { minRecall: 0.5 })),
  ],
  perf: {
    case: c('random-xs-20 nlist 400, nprobe 3', ivfXs({ nprobe: 3 })),
    sweep: [1, 2, 4, 8].map((np) => c(`random-xs-20 nlist 400, nprobe ${np}`, ivfXs({ nprobe: np }))),
  },
  bench: [1, 2, 4, 8, 16, 32].map((np) => c(`blobs-128 nlist 100, nprobe ${np}`, ivf128({ nprobe: np }))),
});

// 3. HNSW.
const hnswXs = on(XS, { index: 'HNSWIndex', metric: 'l2', k: 10, nq: NQ }, { M: 5, efConstruction: 40, seed: 1 });
const hnsw128 = on(B128, { index: 'HNSWIndex', metric: 'l2', k: 10, nq: NQ }, { M: 16, efConstruction: 100, seed: 1 });
const hnswTask = annTask({
  id: 'hnsw',
  title: 'HNSW: M, efConstruction, efSearch',
  points: 3,
  public: [
    c('l2, n 3000, d 16, M 12, efSearch 64', gen('HNSWIndex', 'l2', 3000, 16, 10, 50, { M: 12, efConstruction: 100, seed: 2 }, { efSearch: 64 }, { minRecall: 0.95 })),
    c('cosine, n 2000, d 32, M 8, efSearch 48', gen('HNSWIndex', 'cosine', 2000, 32, 10, 50, { M: 8, efConstruction: 80, seed: 3 }, { efSearch: 48 }, { minRecall: 0.9 })),
    c('saved and loaded', gen('HNSWIndex', 'l2', 1500, 12, 10, 40, { M: 8, efConstruction: 60, seed: 4 }, { efSearch: 50 }, { minRecall: 0.9, saveLoad: true })),
  ],
  perf: {
    case: c('random-xs-20 M 5, efSearch 16', hnswXs({ efSearch: 16 })),
    sweep: [10, 12, 24, 48].map((ef) => c(`random-xs-20 M 5, efSearch ${ef}`, hnswXs({ efSearch: ef }))),
  },
  bench: [10, 16, 24, 32, 48, 64, 96, 128].map((ef) => c(`blobs-128 M 16, efSearch ${ef}`, hnsw128({ efSearch: ef }))),
});

// 4. Product quantization.
const pqXs = on(XS, { index: 'PQIndex', metric: 'l2', k: 10, nq: NQ }, { m: 5, nbits: 8, nlist: 64, seed: 1 });
const pqTask = annTask({
  id: 'pq',
  title: 'Product quantization (IVF-PQ) with re-ranking',
  points: 2,
  public: [
    c('plain PQ, m 8, no re-ranking', gen('PQIndex', 'l2', 3000, 16, 10, 50, { m: 8, nbits: 8, nlist: 1, seed: 2 }, { nprobe: 1, rerank: 0 }, { minRecall: 0.4, memory: true })),
    c('IVF-PQ nlist 16, re-rank 50', gen('PQIndex', 'l2', 4000, 16, 10, 50, { m: 8, nbits: 8, nlist: 16, seed: 3 }, { nprobe: 6, rerank: 50 }, { minRecall: 0.9, memory: true })),
    c('cosine, m 12, re-rank 100', gen('PQIndex', 'cosine', 3000, 24, 10, 50, { m: 12, nbits: 8, nlist: 8, seed: 4 }, { nprobe: 4, rerank: 100 }, { minRecall: 0.85, memory: true })),
    // As ivf's small cells: fewer than k vectors in the one cell probed.
    c('small cells: nlist 100, nprobe 1, re-rank 20', gen('PQIndex', 'l2', 1000, 8, 10, 40, { m: 4, nbits: 8, nlist: 100, seed: 5 }, { nprobe: 1, rerank: 20 }, { minRecall: 0.3, memory: true })),
  ],
  perf: {
    case: c('random-xs-20 nlist 64 m 5, nprobe 4, re-rank 40', pqXs({ nprobe: 4, rerank: 40 })),
    sweep: [
      [1, 10],
      [2, 30],
      [4, 60],
      [16, 100],
    ].map(([np, rr]) => c(`random-xs-20 nlist 64 m 5, nprobe ${np}, re-rank ${rr}`, pqXs({ nprobe: np!, rerank: rr! }))),
    memory: true,
  },
  timeoutMs: 60000,
});

// 5. Inserts, deletes and filtered search (HNSW).
const mutations = { inserts: 2000, removes: 1000, filter: { categories: 5, fraction: 0.5 } };
const updXs = on(XS, { index: 'HNSWIndex', metric: 'l2', k: 10, nq: NQ }, { M: 8, efConstruction: 40, seed: 1 });
const updatesTask = annTask({
  id: 'updates',
  title: 'Inserts and deletes after the build, and filtered search (HNSW)',
  points: 2,
  public: [
    c('inserts after the build', gen('HNSWIndex', 'l2', 3000, 16, 10, 50, { M: 12, efConstruction: 100, seed: 2 }, { efSearch: 64 }, { inserts: 1000, minRecall: 0.95 })),
    c('deletes', gen('HNSWIndex', 'l2', 3000, 16, 10, 50, { M: 12, efConstruction: 100, seed: 3 }, { efSearch: 64 }, { removes: 600, minRecall: 0.95 })),
    c('filtered search, 1 category in 5', gen('HNSWIndex', 'l2', 3000, 16, 10, 50, { M: 12, efConstruction: 100, seed: 4 }, { efSearch: 64 }, { filter: { categories: 5, fraction: 1 }, minRecall: 0.9 })),
    c('inserts, deletes and filters together', gen('HNSWIndex', 'l2', 3000, 16, 10, 60, { M: 12, efConstruction: 100, seed: 5 }, { efSearch: 64 }, { inserts: 800, removes: 500, filter: { categories: 4, fraction: 0.5 }, minRecall: 0.9 })),
  ],
  perf: {
    case: c('random-xs-20 +2000 inserted −1000 deleted, half filtered, efSearch 32', updXs({ efSearch: 32 }, mutations)),
    sweep: [10, 16, 64].map((ef) => c(`random-xs-20 +2000 inserted −1000 deleted, half filtered, efSearch ${ef}`, updXs({ efSearch: ef }, mutations))),
  },
});

// 6. Fashion-MNIST, bench only (opt in: MLSYS_P4_DATASET=fashion-mnist).
const fashionOn = (process.env.MLSYS_P4_DATASET ?? '').split(',').map((s) => s.trim()).includes(FASHION);
const hnswFm = on(FASHION, { index: 'HNSWIndex', metric: 'l2', k: 10, nq: NQ_FASHION }, { M: 16, efConstruction: 100, seed: 1 });
const fashionTask = annTask({
  id: 'hnsw_fashion_mnist',
  title: 'HNSW on Fashion-MNIST-784 (bench only; set MLSYS_P4_DATASET=fashion-mnist)',
  points: 0,
  public: [],
  bench: fashionOn ? [10, 12, 16, 20, 24, 32, 48, 64, 96, 128].map((ef) => c(`fashion-mnist M 16, efSearch ${ef}`, hnswFm({ efSearch: ef }))) : [],
});

export default defineProject({
  id: 'p4',
  aliases: ['vectordb', 'ann', 'p4-vectordb'],
  title: 'Vector databases',
  child: path.join(here, 'child.ts'),
  graderOnly: ['oracle.ts', 'knn-exact.mjs', 'knn-worker.mjs'].map((f) => path.join(here, f)),
  typeFiles: [path.join(here, 'api.ts')],
  entries: ['index.ts', 'index.js'],
  tasks: [flatTask, ivfTask, hnswTask, pqTask, updatesTask, fashionTask],
  // An optional dependency: it compiles C++ on install, which not every laptop can.
  baselines: [{ name: 'hnswlib-node', dir: path.join(here, 'baselines', 'hnswlib-node'), requires: ['hnswlib-node'] }],
});
