// Project 4 on the submission's side: builds the student's index from the wire inputs (untimed;
// a built index is kept for later calls on the same data set and parameters), then runs the
// queries one at a time, timing each, and brings back ids, distances and per-query figures as
// plain tensors. Everything is checked on the trusted side (project.ts).
import os from 'node:os';
import path from 'node:path';
import { BadOutputError, defineChild, type ChildContext, type Submission } from '../../harness/child/api.ts';
import type { Record_, Tensor } from '../../harness/protocol/values.ts';
import type { Metric, QueryParams, SearchResult } from './api.ts';
import { distance } from './knn-kernel.mjs';
import { whole } from './wire.ts';

type AnyIndex = {
  train?: (v: Float32Array) => unknown;
  add: (v: Float32Array, ids: Int32Array) => unknown;
  remove?: (ids: Int32Array) => unknown;
  search: (q: Float32Array, k: number, p: QueryParams) => SearchResult | Promise<SearchResult>;
  searchBatch?: (q: Float32Array, k: number, p: QueryParams) => SearchResult[] | Promise<SearchResult[]>;
  bytes: () => number;
  save: (p: string) => unknown;
};
type IndexCtor = { new (o: Record<string, unknown>): AnyIndex; load?: (p: string) => AnyIndex | Promise<AnyIndex> };

interface Built {
  idx: AnyIndex;
  buildMs: number;
  bytes: number;
  /** id → [vectors, row] for the exact-distance accessor (made on first use). */
  rows: Map<number, [Float32Array, number]> | null;
}

interface Args {
  built: Built;
  queries: Float32Array;
  nq: number;
  d: number;
  k: number;
  metric: Metric;
  params: QueryParams[];
  exactCalls: Int32Array;
  batch: boolean;
  cached: boolean;
}

/** Indexes built for timed calls, by the key the trusted side gives (data set, class, parameters). */
const cache = new Map<string, Built>();
const CACHE_MAX = 2;
let saves = 0;

const t = (v: unknown) => v as Tensor;

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return `an object (${Object.keys(x as object).slice(0, 5).join(', ') || 'no keys'})`;
  return typeof x;
}

const isThenable = (x: unknown): x is Promise<unknown> => typeof (x as { then?: unknown } | null)?.then === 'function';

async function build(sub: Submission, inputs: Record_, ctx: ChildContext): Promise<Built> {
  const name = String(inputs.index);
  const Cls = sub[name] as IndexCtor | undefined;
  if (typeof Cls !== 'function') throw new BadOutputError(`index.ts must export the class ${name}`);
  // Copies: an index may keep (or change) what it is given; the data set stays as it was sent.
  const base = (whole(inputs.base).data as Float32Array).slice();
  const ids = (whole(inputs.ids).data as Int32Array).slice();
  const t0 = ctx.nowMs();
  // Each step named, so that a timeout can say which method never returned.
  ctx.phase(`new ${name}(options)`);
  let idx = new Cls({ dim: Number(inputs.dim), metric: String(inputs.metric), ...(inputs.build as Record<string, number>) });
  if (typeof idx.train === 'function') {
    ctx.phase(`${name}.train(vectors)`);
    await idx.train(base.slice());
  }
  ctx.phase(`${name}.add(vectors, ids)`);
  await idx.add(base, ids);
  if (inputs.inserts) {
    const ins = inputs.inserts as Record_;
    ctx.phase(`${name}.add(vectors, ids) (the inserts after the first add)`);
    await idx.add((whole(ins.vectors).data as Float32Array).slice(), (whole(ins.ids).data as Int32Array).slice());
  }
  if (inputs.removes) {
    if (typeof idx.remove !== 'function') throw new BadOutputError(`${name} has no remove(ids) method (needed for deletes)`);
    ctx.phase(`${name}.remove(ids)`);
    await idx.remove((whole(inputs.removes).data as Int32Array).slice());
  }
  const buildMs = ctx.nowMs() - t0;
  if (inputs.save_load) {
    if (typeof idx.save !== 'function') throw new BadOutputError(`${name} has no save(path) method`);
    if (typeof Cls.load !== 'function') throw new BadOutputError(`${name} has no static load(path) method`);
    const file = path.join(process.env.TMPDIR || os.tmpdir(), `p4-index-${process.pid}-${saves++}.bin`);
    ctx.phase(`${name}.save(path)`);
    await idx.save(file);
    ctx.phase(`${name}.load(path)`);
    idx = await Cls.load(file);
    if (!idx || typeof idx.search !== 'function') throw new BadOutputError(`${name}.load(path) must return an index, got ${describe(idx)}`);
  }
  ctx.phase(`${name}.bytes()`);
  const bytes = idx.bytes();
  if (typeof bytes !== 'number' || !Number.isFinite(bytes) || bytes < 0) throw new BadOutputError(`${name}.bytes() must return a number of bytes, got ${describe(bytes)}`);
  return { idx, buildMs, bytes, rows: null };
}

/** id → where its vector is (base or inserted), for the exact-distance accessor. */
function rowsOf(b: Built, inputs: Record_): Map<number, [Float32Array, number]> {
  if (b.rows) return b.rows;
  const m = new Map<number, [Float32Array, number]>();
  const put = (vecs: Float32Array, ids: Int32Array) => ids.forEach((id, r) => m.set(id, [vecs, r]));
  put(whole(inputs.base).data as Float32Array, whole(inputs.ids).data as Int32Array);
  if (inputs.inserts) put(whole((inputs.inserts as Record_).vectors).data as Float32Array, whole((inputs.inserts as Record_).ids).data as Int32Array);
  b.rows = m;
  return m;
}

async function prepare(inputs: Record_, ctx: ChildContext, sub: Submission): Promise<Args> {
  if (typeof inputs.missing === 'string') throw new Error(inputs.missing);
  const key = String(inputs.key ?? '');
  let built = key ? cache.get(key) : undefined;
  const cached = built !== undefined;
  if (!built) {
    built = await build(sub, inputs, ctx);
    if (key) {
      cache.set(key, built);
      while (cache.size > CACHE_MAX) cache.delete(cache.keys().next().value!);
    }
  }
  const d = Number(inputs.dim);
  const metric = String(inputs.metric) as Metric;
  const queries = (t(inputs.queries).data as Float32Array).slice();
  const nq = queries.length / d;
  const qp = inputs.query as Record<string, number>;
  const exactCalls = new Int32Array(nq);
  const filter = inputs.filter as Record_ | undefined;
  const cats = filter ? (whole(filter.categories).data as Int32Array) : null;
  const want = filter ? (t(filter.per_query).data as Int32Array) : null;
  const rerank = Number(qp.rerank ?? 0);
  const params: QueryParams[] = [];
  for (let i = 0; i < nq; i++) {
    const p: Record<string, unknown> = { ...qp };
    if (cats && want && want[i]! >= 0) {
      const c = want[i]!;
      p.filter = (id: number) => Number.isInteger(id) && id >= 0 && id < cats.length && cats[id] === c;
    }
    if (String(inputs.index) === 'PQIndex') {
      const rows = rowsOf(built, inputs);
      p.exactDistance = (id: number) => {
        if (++exactCalls[i]! > rerank)
          throw new BadOutputError(`exactDistance was called more than rerank = ${rerank} times in one search (query ${i})`);
        const at = rows.get(id);
        if (!at) throw new BadOutputError(`exactDistance(${String(id)}): no vector with this id was added`);
        return distance(metric, queries, i, at[0], at[1], d);
      };
    }
    params.push(p as QueryParams);
  }
  return { built, queries, nq, d, k: Number(inputs.k), metric, params, exactCalls, batch: Boolean(inputs.batch), cached };
}

/** Reads one search result into the output arrays; returns how many results it had. */
function collect(r: unknown, i: number, ids: number[], dists: number[], ndis: Float64Array): number {
  if (typeof r !== 'object' || r === null) throw new BadOutputError(`search must return {ids, distances}, got ${describe(r)} (query ${i})`);
  const o = r as SearchResult;
  const a = o.ids as ArrayLike<number> | undefined;
  const b = o.distances as ArrayLike<number> | undefined;
  if (!a || typeof a.length !== 'number' || !b || typeof b.length !== 'number')
    throw new BadOutputError(`search must return {ids, distances} as arrays, got ${describe(r)} (query ${i})`);
  if (a.length !== b.length) throw new BadOutputError(`search returned ${a.length} ids but ${b.length} distances (query ${i})`);
  if (a.length > 100000) throw new BadOutputError(`search returned ${a.length} results (query ${i})`);
  for (let j = 0; j < a.length; j++) {
    ids.push(Number(a[j]));
    dists.push(Number(b[j]));
  }
  ndis[i] = typeof o.distanceComputations === 'number' ? o.distanceComputations : NaN;
  return a.length;
}

async function invoke(_sub: Submission, a: Args, ctx: ChildContext): Promise<Record_> {
  const { idx } = a.built;
  const { nq, d, k } = a;
  const ids: number[] = [];
  const dists: number[] = [];
  const counts = new Int32Array(nq);
  const ndis = new Float64Array(nq);
  const ms = new Float64Array(nq);
  if (a.batch && typeof idx.searchBatch === 'function') {
    ctx.phase(`searchBatch(queries, k, params) (${nq} queries)`);
    const t0 = ctx.nowMs();
    let rs: unknown = idx.searchBatch(a.queries, k, a.params[0]!);
    if (isThenable(rs)) rs = await rs;
    const dt = ctx.nowMs() - t0;
    if (!Array.isArray(rs) || rs.length !== nq) throw new BadOutputError(`searchBatch must return one result per query (${nq}), got ${describe(rs)}`);
    for (let i = 0; i < nq; i++) {
      counts[i] = collect(rs[i], i, ids, dists, ndis);
      ms[i] = dt / nq;
    }
  } else {
    ctx.phase(`search(query, k, params), one query at a time (${nq} queries)`);
    for (let i = 0; i < nq; i++) {
      const q = a.queries.subarray(i * d, i * d + d);
      const t0 = ctx.nowMs();
      let r: unknown = idx.search(q, k, a.params[i]!);
      if (isThenable(r)) r = await r;
      ms[i] = ctx.nowMs() - t0;
      counts[i] = collect(r, i, ids, dists, ndis);
    }
  }
  return {
    ids: { dtype: 'float64', shape: [ids.length], data: Float64Array.from(ids) },
    distances: { dtype: 'float64', shape: [dists.length], data: Float64Array.from(dists) },
    counts: { dtype: 'int32', shape: [nq], data: counts },
    distance_computations: { dtype: 'float64', shape: [nq], data: ndis },
    query_ms: { dtype: 'float64', shape: [nq], data: ms },
    exact_calls: { dtype: 'int32', shape: [nq], data: a.exactCalls },
    index_bytes: a.built.bytes,
    build_ms: a.built.buildMs,
  };
}

let submission: Submission | null = null;

/**
 * The submission's module, for building its index in prepare (untimed; prepare is not given the
 * module): the driver has already imported the entry, so this import returns the same instance.
 */
async function submissionModule(ctx: ChildContext): Promise<Submission> {
  return (submission ??= (await import(ctx.entryUrl)) as Submission);
}

const task = (exports: string[]) => ({
  exports,
  prepare: async (inputs: Record_, ctx: ChildContext) => prepare(inputs, ctx, await submissionModule(ctx)),
  invoke,
  release: (a: Args) => {
    if (a && !a.cached) a.built.rows = null;
  },
});

export default defineChild({
  runtime: 'none',
  tasks: {
    flat: task(['FlatIndex']),
    ivf: task(['IVFFlatIndex']),
    hnsw: task(['HNSWIndex']),
    pq: task(['PQIndex']),
    updates: task(['HNSWIndex']),
    hnsw_fashion_mnist: task(['HNSWIndex']),
  },
});
