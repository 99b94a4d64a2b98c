// Reference solution for Project 4 (course staff only; never shipped to students): exact flat
// search, IVF-flat, HNSW (with inserts, deletes and filtered search) and IVF-PQ with re-ranking.
//
// Performance notes (all exact, none changes a result):
// - Vectors live in one Float32Array per index (or per inverted list), row-major; graph links in
//   Int32Arrays; heaps and the visited set are preallocated typed arrays.
// - Squared-L2 distances are computed 16 dimensions at a time with four accumulators, and stop
//   early once the partial sum exceeds the distance that would still be accepted (the worst of the
//   current results): a candidate that is too far is rejected after a fraction of its dimensions.
// - For high dimensions, the dimensions are stored in decreasing order of variance (learned from the
//   first batch added), so the partial sums grow fastest and far candidates stop soonest.
// - Cosine is computed as 1 − ⟨q̂, x̂⟩ on vectors normalised once when added.
import { readFileSync, writeFileSync } from 'node:fs';
import type {
  FlatOptions,
  HNSWOptions,
  HNSWQuery,
  IVFFlatOptions,
  IVFQuery,
  Metric,
  MutableIndex,
  PQOptions,
  PQQuery,
  QueryParams,
  SearchResult,
  VectorIndex,
} from '../../projects/p4/api.ts';

// ---- distances ----------------------------------------------------------------------------------

/**
 * Squared L2 between a[ao…ao+d) and the query q (float64, so only the stored side is converted),
 * four accumulators; every 32 dimensions the partial sum is compared with `bound` and, once above
 * it, returned as is (the candidate is rejected, the exact value is not needed).
 */
function l2q(a: Float32Array, ao: number, q: Float64Array, d: number, bound: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  let p = ao;
  const d4 = d - (d & 3);
  while (j < d4) {
    const e = j + 32 < d4 ? j + 32 : d4;
    for (; j < e; j += 4, p += 4) {
      const x0 = a[p]! - q[j]!;
      const x1 = a[p + 1]! - q[j + 1]!;
      const x2 = a[p + 2]! - q[j + 2]!;
      const x3 = a[p + 3]! - q[j + 3]!;
      s0 += x0 * x0;
      s1 += x1 * x1;
      s2 += x2 * x2;
      s3 += x3 * x3;
    }
    if (s0 + s1 + s2 + s3 > bound) return s0 + s1 + s2 + s3;
  }
  for (; j < d; j++, p++) {
    const x = a[p]! - q[j]!;
    s0 += x * x;
  }
  return s0 + s1 + s2 + s3;
}

/** Squared L2 between rows at ao and bo of the same array, with the same early exit. */
function l2rr(a: Float32Array, ao: number, bo: number, d: number, bound: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  const d4 = d - (d & 3);
  while (j < d4) {
    const e = j + 32 < d4 ? j + 32 : d4;
    for (; j < e; j += 4) {
      const x0 = a[ao + j]! - a[bo + j]!;
      const x1 = a[ao + j + 1]! - a[bo + j + 1]!;
      const x2 = a[ao + j + 2]! - a[bo + j + 2]!;
      const x3 = a[ao + j + 3]! - a[bo + j + 3]!;
      s0 += x0 * x0;
      s1 += x1 * x1;
      s2 += x2 * x2;
      s3 += x3 * x3;
    }
    if (s0 + s1 + s2 + s3 > bound) return s0 + s1 + s2 + s3;
  }
  for (; j < d; j++) {
    const x = a[ao + j]! - a[bo + j]!;
    s0 += x * x;
  }
  return s0 + s1 + s2 + s3;
}

function dotq(a: Float32Array, ao: number, q: Float64Array, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  let p = ao;
  for (; j + 4 <= d; j += 4, p += 4) {
    s0 += a[p]! * q[j]!;
    s1 += a[p + 1]! * q[j + 1]!;
    s2 += a[p + 2]! * q[j + 2]!;
    s3 += a[p + 3]! * q[j + 3]!;
  }
  for (; j < d; j++, p++) s0 += a[p]! * q[j]!;
  return s0 + s1 + s2 + s3;
}

/** Squared L2, whole vectors, four accumulators (low dimensions: no early exit). */
function l2(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    const x0 = a[ao + j]! - b[bo + j]!;
    const x1 = a[ao + j + 1]! - b[bo + j + 1]!;
    const x2 = a[ao + j + 2]! - b[bo + j + 2]!;
    const x3 = a[ao + j + 3]! - b[bo + j + 3]!;
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
  }
  for (; j < d; j++) {
    const x = a[ao + j]! - b[bo + j]!;
    s0 += x * x;
  }
  return s0 + s1 + s2 + s3;
}

function dot(a: Float32Array, ao: number, b: Float32Array, bo: number, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 4 <= d; j += 4) {
    s0 += a[ao + j]! * b[bo + j]!;
    s1 += a[ao + j + 1]! * b[bo + j + 1]!;
    s2 += a[ao + j + 2]! * b[bo + j + 2]!;
    s3 += a[ao + j + 3]! * b[bo + j + 3]!;
  }
  for (; j < d; j++) s0 += a[ao + j]! * b[bo + j]!;
  return s0 + s1 + s2 + s3;
}

/**
 * The distance kernel of an index: its metric and, for squared L2 in high dimensions, the order
 * the dimensions are stored in. dq/drr are exact whenever the result is ≤ bound.
 */
class Space {
  readonly l2: boolean;
  /** Stored dimension j is original dimension perm[j] (null: identity). */
  perm: Int32Array | null = null;
  constructor(
    readonly dim: number,
    readonly metric: Metric,
  ) {
    if (!(Number.isInteger(dim) && dim > 0)) throw new Error(`dim must be a positive integer, got ${dim}`);
    if (metric !== 'l2' && metric !== 'cosine' && metric !== 'ip') throw new Error(`unknown metric '${String(metric)}'`);
    this.l2 = metric === 'l2';
  }

  /** Distance from stored row (a, ao) to the query q (prepared with store). */
  dq(a: Float32Array, ao: number, q: Float64Array, bound: number): number {
    return this.l2 ? l2q(a, ao, q, this.dim, bound) : 1 - dotq(a, ao, q, this.dim);
  }

  /** Distance between stored rows at ao and bo of a. */
  drr(a: Float32Array, ao: number, bo: number, bound: number): number {
    return this.l2 ? l2rr(a, ao, bo, this.dim, bound) : 1 - dot(a, ao, a, bo, this.dim);
  }

  /**
   * Learns the storage order of the dimensions from a first batch: decreasing variance, so that
   * partial sums of squared L2 grow fastest (high dimensions only).
   */
  learnOrder(v: Float32Array): void {
    const d = this.dim;
    const n = v.length / d;
    if (!this.l2 || d < 64 || n < 2 || this.perm) return;
    const mean = new Float64Array(d);
    const sq = new Float64Array(d);
    const step = Math.max(1, Math.floor(n / 4096));
    let cnt = 0;
    for (let i = 0; i < n; i += step, cnt++)
      for (let j = 0; j < d; j++) {
        const x = v[i * d + j]!;
        mean[j] += x;
        sq[j] += x * x;
      }
    const variance = Array.from({ length: d }, (_, j) => sq[j]! / cnt - (mean[j]! / cnt) ** 2);
    this.perm = Int32Array.from(Array.from({ length: d }, (_, j) => j).sort((a, b) => variance[b]! - variance[a]! || a - b));
  }

  /** Copies vector `src` (at offset so) into dst at `doff`, in storage order (normalised for cosine). */
  store(src: Float32Array, so: number, dst: Float32Array | Float64Array, doff: number): void {
    const d = this.dim;
    const p = this.perm;
    if (p) for (let j = 0; j < d; j++) dst[doff + j] = src[so + p[j]!]!;
    else for (let j = 0; j < d; j++) dst[doff + j] = src[so + j]!;
    if (this.metric === 'cosine') {
      let s = 0;
      for (let j = 0; j < d; j++) s += dst[doff + j]! * dst[doff + j]!;
      const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      for (let j = 0; j < d; j++) dst[doff + j] = dst[doff + j]! * inv;
    }
  }
}

// ---- small utilities ----------------------------------------------------------------------------

/** A seeded generator (mulberry32): uniform in [0, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A binary heap of (distance, id) on typed arrays; max-heap when `max`, else min-heap. */
class Heap {
  d: Float64Array;
  id: Int32Array;
  size = 0;
  constructor(
    capacity: number,
    private readonly max: boolean,
  ) {
    this.d = new Float64Array(Math.max(4, capacity));
    this.id = new Int32Array(Math.max(4, capacity));
  }
  clear(): void {
    this.size = 0;
  }
  private above(a: number, b: number): boolean {
    return this.max ? a > b : a < b;
  }
  push(dist: number, id: number): void {
    if (this.size === this.d.length) {
      const d = new Float64Array(this.size * 2);
      d.set(this.d);
      this.d = d;
      const i = new Int32Array(this.size * 2);
      i.set(this.id);
      this.id = i;
    }
    let p = this.size++;
    const hd = this.d;
    const hi = this.id;
    while (p > 0) {
      const par = (p - 1) >> 1;
      if (!this.above(dist, hd[par]!)) break;
      hd[p] = hd[par]!;
      hi[p] = hi[par]!;
      p = par;
    }
    hd[p] = dist;
    hi[p] = id;
  }
  /** Removes the top; read topD/topId first. */
  pop(): void {
    const n = --this.size;
    if (n <= 0) return;
    const hd = this.d;
    const hi = this.id;
    const dist = hd[n]!;
    const id = hi[n]!;
    let p = 0;
    for (;;) {
      let c = 2 * p + 1;
      if (c >= n) break;
      if (c + 1 < n && this.above(hd[c + 1]!, hd[c]!)) c++;
      if (!this.above(hd[c]!, dist)) break;
      hd[p] = hd[c]!;
      hi[p] = hi[c]!;
      p = c;
    }
    hd[p] = dist;
    hi[p] = id;
  }
  get topD(): number {
    return this.d[0]!;
  }
  get topId(): number {
    return this.id[0]!;
  }
}

/** Empties a max-heap of results into ascending order: [ids, distances]. */
function drainAscending(h: Heap, map: (i: number) => number): SearchResult {
  const n = h.size;
  const ids = new Int32Array(n);
  const distances = new Float32Array(n);
  for (let i = n - 1; i >= 0; i--) {
    ids[i] = map(h.topId);
    distances[i] = h.topD;
    h.pop();
  }
  return { ids, distances };
}

function grow<T extends Float32Array | Int32Array | Uint8Array | Uint32Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  const b = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2, 16));
  b.set(a);
  return b;
}

function checkBatch(dim: number, vectors: Float32Array, ids: ArrayLike<number>): number {
  const n = ids.length;
  if (vectors.length !== n * dim) throw new Error(`add: ${vectors.length} values for ${n} ids of dimension ${dim}`);
  return n;
}

function checkQuery(dim: number, q: Float32Array, k: number): void {
  if (q.length !== dim) throw new Error(`search: query has ${q.length} values, dimension is ${dim}`);
  if (!(Number.isInteger(k) && k > 0)) throw new Error(`search: k must be a positive integer, got ${k}`);
}

// ---- persistence: a JSON header and typed-array sections in one file ---------------------------

type Section = Float32Array | Int32Array | Uint8Array | Float64Array;
const CTORS = { f32: Float32Array, i32: Int32Array, u8: Uint8Array, f64: Float64Array } as const;
type Kind = keyof typeof CTORS;
const kindOf = (a: Section): Kind => (a instanceof Float32Array ? 'f32' : a instanceof Int32Array ? 'i32' : a instanceof Float64Array ? 'f64' : 'u8');

function writeSections(path: string, header: Record<string, unknown>, sections: Record<string, Section>): void {
  const names = Object.keys(sections);
  const meta = names.map((n) => ({ name: n, kind: kindOf(sections[n]!), length: sections[n]!.length }));
  const h = Buffer.from(JSON.stringify({ ...header, sections: meta }), 'utf8');
  const parts: Buffer[] = [Buffer.from('P4IX'), Buffer.alloc(4), h];
  parts[1]!.writeUInt32LE(h.length);
  let off = 8 + h.length;
  for (const n of names) {
    const pad = (8 - (off % 8)) % 8;
    parts.push(Buffer.alloc(pad));
    off += pad;
    const a = sections[n]!;
    parts.push(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    off += a.byteLength;
  }
  writeFileSync(path, Buffer.concat(parts));
}

function readSections(path: string): { header: Record<string, unknown>; s: Record<string, Section> } {
  const buf = readFileSync(path);
  if (buf.subarray(0, 4).toString('latin1') !== 'P4IX') throw new Error(`${path} is not an index file`);
  const hl = buf.readUInt32LE(4);
  const header = JSON.parse(buf.subarray(8, 8 + hl).toString('utf8')) as Record<string, unknown> & { sections: { name: string; kind: Kind; length: number }[] };
  let off = 8 + hl;
  const s: Record<string, Section> = {};
  for (const m of header.sections) {
    off += (8 - (off % 8)) % 8;
    const C = CTORS[m.kind];
    const bytes = m.length * C.BYTES_PER_ELEMENT;
    const ab = new ArrayBuffer(bytes);
    new Uint8Array(ab).set(buf.subarray(off, off + bytes));
    s[m.name] = new C(ab);
    off += bytes;
  }
  return { header, s };
}

// ---- k-means --------------------------------------------------------------------------------------

/** Index of the nearest of k centroids (squared L2, or largest dot when `ip`), and its distance. */
function nearest(c: Float32Array, k: number, v: Float32Array, vo: number, d: number, ip: boolean): [number, number] {
  let best = 0;
  let bd = Infinity;
  for (let j = 0; j < k; j++) {
    const dist = ip ? 1 - dot(c, j * d, v, vo, d) : l2(c, j * d, v, vo, d);
    if (dist < bd) {
      bd = dist;
      best = j;
    }
  }
  return [best, bd];
}

/**
 * Lloyd's k-means on n rows of v (d wide), seeded. Spherical (centroids renormalised) when
 * `ip`. Trains on at most 256·k rows (a seeded sample), as faiss does; an empty cell takes a
 * random training row.
 */
function kmeans(v: Float32Array, d: number, k: number, seed: number, iters: number, ip: boolean): Float32Array {
  const nAll = v.length / d;
  const rand = rng(seed);
  let x = v;
  let n = nAll;
  if (nAll > 256 * k) {
    n = 256 * k;
    const pick = Int32Array.from({ length: nAll }, (_, i) => i);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(rand() * (nAll - i));
      const t = pick[i]!;
      pick[i] = pick[j]!;
      pick[j] = t;
    }
    x = new Float32Array(n * d);
    for (let i = 0; i < n; i++) x.set(v.subarray(pick[i]! * d, pick[i]! * d + d), i * d);
  }
  const c = new Float32Array(k * d);
  // Initial centroids: k distinct random rows (repeating when there are fewer rows than cells).
  const order = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  for (let j = 0; j < k; j++) c.set(x.subarray(order[j % n]! * d, order[j % n]! * d + d), j * d);
  if (n <= k) return c;
  const assign = new Int32Array(n);
  const sums = new Float64Array(k * d);
  const counts = new Int32Array(k);
  for (let it = 0; it < iters; it++) {
    let moved = 0;
    for (let i = 0; i < n; i++) {
      const [a] = nearest(c, k, x, i * d, d, ip);
      if (a !== assign[i] || it === 0) moved++;
      assign[i] = a;
    }
    if (it > 0 && moved === 0) break;
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const a = assign[i]!;
      counts[a]!++;
      for (let j = 0; j < d; j++) sums[a * d + j] += x[i * d + j]!;
    }
    for (let a = 0; a < k; a++) {
      if (counts[a] === 0) {
        const r = Math.floor(rand() * n);
        for (let j = 0; j < d; j++) c[a * d + j] = x[r * d + j]! + 1e-3 * (rand() - 0.5);
        continue;
      }
      let norm = 0;
      for (let j = 0; j < d; j++) {
        const m = sums[a * d + j]! / counts[a]!;
        c[a * d + j] = m;
        norm += m * m;
      }
      if (ip && norm > 0) {
        const inv = 1 / Math.sqrt(norm);
        for (let j = 0; j < d; j++) c[a * d + j] = c[a * d + j]! * inv;
      }
    }
  }
  return c;
}

/** Puts every cell into `heap` (a min-heap) by its centroid's distance to q: pop them nearest first. */
function orderCells(space: Space, cents: Float32Array, nlist: number, q: Float64Array, heap: Heap): void {
  const d = space.dim;
  heap.clear();
  for (let c = 0; c < nlist; c++) heap.push(space.dq(cents, c * d, q, Infinity), c);
}

// ---- exact search --------------------------------------------------------------------------------

export class FlatIndex implements VectorIndex<QueryParams> {
  private space: Space;
  private data: Float32Array = new Float32Array(0);
  private ids: Int32Array = new Int32Array(0);
  private n = 0;
  private q: Float64Array;
  private heap = new Heap(64, true);

  constructor(private readonly o: FlatOptions) {
    this.space = new Space(o.dim, o.metric);
    this.q = new Float64Array(o.dim);
  }

  add(vectors: Float32Array, ids: Int32Array): void {
    const n = checkBatch(this.o.dim, vectors, ids);
    const d = this.o.dim;
    if (this.n === 0) this.space.learnOrder(vectors);
    this.data = grow(this.data, (this.n + n) * d);
    this.ids = grow(this.ids, this.n + n);
    for (let i = 0; i < n; i++) {
      this.space.store(vectors, i * d, this.data, (this.n + i) * d);
      this.ids[this.n + i] = ids[i]!;
    }
    this.n += n;
  }

  search(query: Float32Array, k: number, params: QueryParams = {}): SearchResult {
    checkQuery(this.o.dim, query, k);
    const { space, data, n } = this;
    const d = this.o.dim;
    const q = this.q;
    space.store(query, 0, q, 0);
    const h = this.heap;
    h.clear();
    const filter = params.filter;
    const ids = this.ids;
    for (let i = 0; i < n; i++) {
      if (filter && !filter(ids[i]!)) continue;
      if (h.size < k) h.push(space.dq(data, i * d, q, Infinity), i);
      else {
        const dist = space.dq(data, i * d, q, h.topD);
        if (dist < h.topD) {
          h.pop();
          h.push(dist, i);
        }
      }
    }
    return { ...drainAscending(h, (i) => ids[i]!), distanceComputations: n };
  }

  searchBatch(queries: Float32Array, k: number, params: QueryParams = {}): SearchResult[] {
    const d = this.o.dim;
    return Array.from({ length: queries.length / d }, (_, i) => this.search(queries.subarray(i * d, i * d + d), k, params));
  }

  bytes(): number {
    return this.n * this.o.dim * 4 + this.n * 4 + (this.space.perm ? this.o.dim * 4 : 0);
  }

  save(path: string): void {
    writeSections(path, { kind: 'flat', o: this.o, n: this.n }, {
      data: this.data.subarray(0, this.n * this.o.dim),
      ids: this.ids.subarray(0, this.n),
      perm: this.space.perm ?? new Int32Array(0),
    });
  }

  static load(path: string): FlatIndex {
    const { header, s } = readSections(path);
    const idx = new FlatIndex(header.o as FlatOptions);
    idx.n = Number(header.n);
    idx.data = s.data as Float32Array;
    idx.ids = s.ids as Int32Array;
    if ((s.perm as Int32Array).length) idx.space.perm = s.perm as Int32Array;
    return idx;
  }
}

// ---- IVF-flat ------------------------------------------------------------------------------------

interface List {
  data: Float32Array;
  ids: Int32Array;
  n: number;
}

export class IVFFlatIndex implements VectorIndex<IVFQuery> {
  private space: Space;
  private cents: Float32Array = new Float32Array(0);
  private lists: List[] = [];
  private total = 0;
  private q: Float64Array;
  private v: Float32Array;
  private heap = new Heap(64, true);
  private cells = new Heap(64, false);

  constructor(private readonly o: IVFFlatOptions) {
    this.space = new Space(o.dim, o.metric);
    if (!(Number.isInteger(o.nlist) && o.nlist > 0)) throw new Error(`nlist must be a positive integer, got ${o.nlist}`);
    this.q = new Float64Array(o.dim);
    this.v = new Float32Array(o.dim);
  }

  train(vectors: Float32Array): void {
    const d = this.o.dim;
    this.space.learnOrder(vectors);
    const n = vectors.length / d;
    const x = new Float32Array(n * d);
    for (let i = 0; i < n; i++) this.space.store(vectors, i * d, x, i * d);
    this.cents = kmeans(x, d, this.o.nlist, this.o.seed ?? 1, 20, !this.space.l2);
    this.lists = Array.from({ length: this.o.nlist }, () => ({ data: new Float32Array(0), ids: new Int32Array(0), n: 0 }));
  }

  add(vectors: Float32Array, ids: Int32Array): void {
    const n = checkBatch(this.o.dim, vectors, ids);
    if (!this.lists.length) this.train(vectors);
    const d = this.o.dim;
    const v = this.v;
    for (let i = 0; i < n; i++) {
      this.space.store(vectors, i * d, v, 0);
      const [c] = nearest(this.cents, this.o.nlist, v, 0, d, !this.space.l2);
      const L = this.lists[c]!;
      L.data = grow(L.data, (L.n + 1) * d);
      L.ids = grow(L.ids, L.n + 1);
      L.data.set(v, L.n * d);
      L.ids[L.n++] = ids[i]!;
    }
    this.total += n;
  }

  search(query: Float32Array, k: number, params: IVFQuery): SearchResult {
    checkQuery(this.o.dim, query, k);
    const d = this.o.dim;
    const { space } = this;
    const q = this.q;
    space.store(query, 0, q, 0);
    const cells = this.cells;
    orderCells(space, this.cents, this.o.nlist, q, cells);
    const h = this.heap;
    h.clear();
    const filter = params.filter;
    let ndis = this.o.nlist;
    // Results hold (distance, position in `found`); `found` holds the ids.
    const found: number[] = [];
    // nprobe cells, and more while fewer than k vectors were found (small or filtered cells).
    for (let probed = 0; cells.size && (probed < params.nprobe || h.size < k); probed++) {
      const c = cells.topId;
      cells.pop();
      const L = this.lists[c]!;
      const data = L.data;
      const ids = L.ids;
      ndis += L.n;
      for (let i = 0; i < L.n; i++) {
        if (filter && !filter(ids[i]!)) continue;
        if (h.size < k) {
          h.push(space.dq(data, i * d, q, Infinity), found.length);
          found.push(ids[i]!);
        } else {
          const dist = space.dq(data, i * d, q, h.topD);
          if (dist < h.topD) {
            h.pop();
            h.push(dist, found.length);
            found.push(ids[i]!);
          }
        }
      }
    }
    return { ...drainAscending(h, (i) => found[i]!), distanceComputations: ndis };
  }

  bytes(): number {
    let b = this.cents.byteLength + (this.space.perm ? this.o.dim * 4 : 0);
    for (const L of this.lists) b += L.n * (this.o.dim * 4 + 4);
    return b;
  }

  save(path: string): void {
    const d = this.o.dim;
    const counts = Int32Array.from(this.lists, (L) => L.n);
    const data = new Float32Array(this.total * d);
    const ids = new Int32Array(this.total);
    let off = 0;
    for (const L of this.lists) {
      data.set(L.data.subarray(0, L.n * d), off * d);
      ids.set(L.ids.subarray(0, L.n), off);
      off += L.n;
    }
    writeSections(path, { kind: 'ivf', o: this.o }, { cents: this.cents, counts, data, ids, perm: this.space.perm ?? new Int32Array(0) });
  }

  static load(path: string): IVFFlatIndex {
    const { header, s } = readSections(path);
    const o = header.o as IVFFlatOptions;
    const idx = new IVFFlatIndex(o);
    const d = o.dim;
    idx.cents = s.cents as Float32Array;
    if ((s.perm as Int32Array).length) idx.space.perm = s.perm as Int32Array;
    const counts = s.counts as Int32Array;
    let off = 0;
    idx.lists = Array.from(counts, (n) => {
      const L = { data: (s.data as Float32Array).slice(off * d, (off + n) * d), ids: (s.ids as Int32Array).slice(off, off + n), n };
      off += n;
      return L;
    });
    idx.total = off;
    return idx;
  }
}

// ---- HNSW ------------------------------------------------------------------------------------------

export class HNSWIndex implements MutableIndex<HNSWQuery> {
  private space: Space;
  private readonly d: number;
  private readonly M: number;
  private readonly M0: number;
  private readonly mL: number;
  private readonly rand: () => number;
  private cap = 0;
  private n = 0;
  private data: Float32Array = new Float32Array(0);
  private labels: Int32Array = new Int32Array(0);
  private levels: Uint8Array = new Uint8Array(0);
  private deleted: Uint8Array = new Uint8Array(0);
  private nDeleted = 0;
  /** Layer 0: per node, [count, M0 neighbours]. */
  private links0: Int32Array = new Int32Array(0);
  /** Layers ≥ 1: per node of level L, L blocks of [count, M neighbours] (layer l at block l − 1). */
  private upper: (Int32Array | null)[] = [];
  private entry = -1;
  private maxLevel = -1;
  private rowOf = new Map<number, number>();
  private visited: Uint32Array = new Uint32Array(0);
  private tag = 0;
  private cand = new Heap(256, false);
  private res = new Heap(256, true);
  /** The vector being searched for (a query or a node being inserted), in storage order. */
  private q: Float64Array;
  /** Unvisited neighbours of the node being expanded. */
  private next: Int32Array;
  private ndis = 0;
  /** Sums of the look-ahead reads (kept so that they are not optimised away). */
  private sink = 0;

  constructor(private readonly o: HNSWOptions) {
    this.space = new Space(o.dim, o.metric);
    if (!(Number.isInteger(o.M) && o.M >= 2)) throw new Error(`M must be an integer >= 2, got ${o.M}`);
    this.d = o.dim;
    this.M = o.M;
    this.M0 = 2 * o.M;
    this.mL = 1 / Math.log(o.M);
    this.rand = rng(o.seed ?? 100);
    this.q = new Float64Array(o.dim);
    this.next = new Int32Array(this.M0);
  }

  private reserve(need: number): void {
    if (need <= this.cap) return;
    const cap = Math.max(need, this.cap * 2, 1024);
    const d = this.d;
    const grow2 = <T extends Float32Array | Int32Array | Uint8Array | Uint32Array>(a: T, size: number): T => {
      const b = new (a.constructor as new (n: number) => T)(size);
      b.set(a);
      return b;
    };
    this.data = grow2(this.data, cap * d);
    this.labels = grow2(this.labels, cap);
    this.levels = grow2(this.levels, cap);
    this.deleted = grow2(this.deleted, cap);
    this.links0 = grow2(this.links0, cap * (this.M0 + 1));
    this.visited = grow2(this.visited, cap);
    this.cap = cap;
  }

  private newTag(): number {
    if (++this.tag === 0xffffffff) {
      this.visited.fill(0);
      this.tag = 1;
    }
    return this.tag;
  }

  /** The links block of node i at layer l: [array, offset of the count]. */
  private block(i: number, l: number): [Int32Array, number] {
    return l === 0 ? [this.links0, i * (this.M0 + 1)] : [this.upper[i]!, (l - 1) * (this.M + 1)];
  }

  /** Greedy walk on layer l from (ep, dep) towards this.q. */
  private greedy(ep: number, dep: number, l: number): [number, number] {
    const d = this.d;
    const q = this.q;
    let changed = true;
    while (changed) {
      changed = false;
      let a: Int32Array;
      let off: number;
      if (l === 0) {
        a = this.links0;
        off = ep * (this.M0 + 1);
      } else {
        a = this.upper[ep]!;
        off = (l - 1) * (this.M + 1);
      }
      const cnt = a[off]!;
      this.ndis += cnt;
      for (let j = 1; j <= cnt; j++) {
        const e = a[off + j]!;
        const de = this.space.dq(this.data, e * d, q, dep);
        if (de < dep) {
          dep = de;
          ep = e;
          changed = true;
        }
      }
    }
    return [ep, dep];
  }

  /**
   * Beam search for this.q on layer l: the ef nearest found, left in this.res (a max-heap). With
   * `allowed` (deletes, filters), only allowed nodes enter the results, and the search goes on
   * while fewer than ef have been found (as hnswlib does).
   */
  private searchLayer(ep: number, dep: number, ef: number, l: number, allowed: ((i: number) => boolean) | null): void {
    const d = this.d;
    const data = this.data;
    const space = this.space;
    const q = this.q;
    const visited = this.visited;
    const next = this.next;
    const lookahead = d >= 64;
    const tag = this.newTag();
    const cand = this.cand;
    const res = this.res;
    let sink = 0;
    cand.clear();
    res.clear();
    visited[ep] = tag;
    cand.push(dep, ep);
    if (!allowed || allowed(ep)) res.push(dep, ep);
    let lower = res.size ? res.topD : Infinity;
    while (cand.size) {
      const dc = cand.topD;
      const c = cand.topId;
      if (dc > lower && (res.size >= ef || !allowed)) break;
      cand.pop();
      let a: Int32Array;
      let off: number;
      if (l === 0) {
        a = this.links0;
        off = c * (this.M0 + 1);
      } else {
        a = this.upper[c]!;
        off = (l - 1) * (this.M + 1);
      }
      const cnt = a[off]!;
      let m = 0;
      for (let j = 1; j <= cnt; j++) {
        const e = a[off + j]!;
        if (visited[e] === tag) continue;
        visited[e] = tag;
        next[m++] = e;
      }
      this.ndis += m;
      for (let t = 0; t < m; t++) {
        const e = next[t]!;
        // Read one value per cache line of the next vector while this one is computed: the
        // memory system fetches it in the background (JavaScript has no prefetch instruction).
        if (lookahead && t + 1 < m) for (let o = next[t + 1]! * d, end = o + d; o < end; o += 16) sink += data[o]!;
        const bound = res.size < ef ? Infinity : lower;
        const de = space.dq(data, e * d, q, bound);
        if (de < bound) {
          cand.push(de, e);
          if (!allowed || allowed(e)) {
            res.push(de, e);
            if (res.size > ef) res.pop();
            lower = res.topD;
          }
        }
      }
    }
    this.sink += sink;
  }

  /** Drains this.res into ascending arrays of (distance, node). */
  private drainRes(): { nodes: Int32Array; dists: Float64Array } {
    const res = this.res;
    const n = res.size;
    const nodes = new Int32Array(n);
    const dists = new Float64Array(n);
    for (let i = n - 1; i >= 0; i--) {
      nodes[i] = res.topId;
      dists[i] = res.topD;
      res.pop();
    }
    return { nodes, dists };
  }

  /**
   * hnswlib's neighbour heuristic: walking candidates from nearest, keep one only when it is closer
   * to the base point than to every neighbour kept so far; at most m.
   */
  private selectNeighbours(nodes: Int32Array, dists: Float64Array, m: number): Int32Array {
    if (nodes.length <= m) return nodes;
    const d = this.d;
    const out = new Int32Array(m);
    let kept = 0;
    for (let i = 0; i < nodes.length && kept < m; i++) {
      const c = nodes[i]!;
      const dc = dists[i]!;
      let good = true;
      for (let j = 0; j < kept; j++) {
        if (this.space.drr(this.data, out[j]! * d, c * d, dc) < dc) {
          good = false;
          break;
        }
      }
      if (good) out[kept++] = c;
    }
    return out.subarray(0, kept);
  }

  /** Adds link i → to on layer l, pruning i's list with the heuristic when it is full. */
  private link(i: number, to: number, l: number): void {
    const [a, off] = this.block(i, l);
    const max = l === 0 ? this.M0 : this.M;
    const cnt = a[off]!;
    if (cnt < max) {
      a[off + 1 + cnt] = to;
      a[off] = cnt + 1;
      return;
    }
    const d = this.d;
    const cand: [number, number][] = [[this.space.drr(this.data, i * d, to * d, Infinity), to]];
    for (let j = 1; j <= cnt; j++) cand.push([this.space.drr(this.data, i * d, a[off + j]! * d, Infinity), a[off + j]!]);
    cand.sort((x, y) => x[0] - y[0]);
    const kept = this.selectNeighbours(Int32Array.from(cand, (c) => c[1]), Float64Array.from(cand, (c) => c[0]), max);
    a[off] = kept.length;
    a.set(kept, off + 1);
  }

  private insert(row: number): void {
    const d = this.d;
    const level = Math.min(255, Math.floor(-Math.log(1 - this.rand()) * this.mL));
    this.levels[row] = level;
    this.upper[row] = level > 0 ? new Int32Array(level * (this.M + 1)) : null;
    if (this.entry < 0) {
      this.entry = row;
      this.maxLevel = level;
      return;
    }
    const data = this.data;
    const q = this.q;
    for (let j = 0; j < d; j++) q[j] = data[row * d + j]!;
    let ep = this.entry;
    let dep = this.space.dq(data, ep * d, q, Infinity);
    for (let l = this.maxLevel; l > level; l--) [ep, dep] = this.greedy(ep, dep, l);
    for (let l = Math.min(level, this.maxLevel); l >= 0; l--) {
      this.searchLayer(ep, dep, this.o.efConstruction, l, null);
      const { nodes, dists } = this.drainRes();
      ep = nodes[0]!;
      dep = dists[0]!;
      const chosen = this.selectNeighbours(nodes, dists, this.M);
      const [a, off] = this.block(row, l);
      a[off] = chosen.length;
      a.set(chosen, off + 1);
      for (const nb of chosen) this.link(nb, row, l);
    }
    if (level > this.maxLevel) {
      this.entry = row;
      this.maxLevel = level;
    }
  }

  add(vectors: Float32Array, ids: Int32Array): void {
    const n = checkBatch(this.d, vectors, ids);
    if (this.n === 0) this.space.learnOrder(vectors);
    this.reserve(this.n + n);
    for (let i = 0; i < n; i++) {
      const id = ids[i]!;
      if (this.rowOf.has(id)) throw new Error(`add: id ${id} is already in the index`);
      const row = this.n++;
      this.space.store(vectors, i * this.d, this.data, row * this.d);
      this.labels[row] = id;
      this.rowOf.set(id, row);
      this.insert(row);
    }
  }

  remove(ids: Int32Array): void {
    for (const id of ids) {
      const row = this.rowOf.get(id);
      if (row === undefined || this.deleted[row]) throw new Error(`remove: id ${id} is not in the index`);
      this.deleted[row] = 1;
      this.nDeleted++;
    }
  }

  search(query: Float32Array, k: number, params: HNSWQuery): SearchResult {
    checkQuery(this.d, query, k);
    this.ndis = 0;
    if (this.entry < 0) return { ids: new Int32Array(0), distances: new Float32Array(0), distanceComputations: 0 };
    const q = this.q;
    this.space.store(query, 0, q, 0);
    let ep = this.entry;
    let dep = this.space.dq(this.data, ep * this.d, q, Infinity);
    this.ndis = 1;
    for (let l = this.maxLevel; l > 0; l--) [ep, dep] = this.greedy(ep, dep, l);
    const filter = params.filter;
    const deleted = this.deleted;
    const labels = this.labels;
    const allowed = filter ? (i: number) => deleted[i] === 0 && filter(labels[i]!) : this.nDeleted ? (i: number) => deleted[i] === 0 : null;
    this.searchLayer(ep, dep, Math.max(k, Math.floor(params.efSearch) || k), 0, allowed);
    const res = this.res;
    while (res.size > k) res.pop();
    return { ...drainAscending(res, (i) => labels[i]!), distanceComputations: this.ndis };
  }

  bytes(): number {
    let b = this.n * (this.d * 4 + 4 + 1 + 1 + (this.M0 + 1) * 4) + (this.space.perm ? this.d * 4 : 0);
    for (let i = 0; i < this.n; i++) if (this.upper[i]) b += this.upper[i]!.byteLength;
    return b;
  }

  save(path: string): void {
    const n = this.n;
    const up: number[] = [];
    for (let i = 0; i < n; i++) if (this.upper[i]) up.push(...this.upper[i]!);
    writeSections(
      path,
      { kind: 'hnsw', o: this.o, n, entry: this.entry, maxLevel: this.maxLevel, nDeleted: this.nDeleted },
      {
        data: this.data.subarray(0, n * this.d),
        labels: this.labels.subarray(0, n),
        levels: this.levels.subarray(0, n),
        deleted: this.deleted.subarray(0, n),
        links0: this.links0.subarray(0, n * (this.M0 + 1)),
        upper: Int32Array.from(up),
        perm: this.space.perm ?? new Int32Array(0),
      },
    );
  }

  static load(path: string): HNSWIndex {
    const { header, s } = readSections(path);
    const idx = new HNSWIndex(header.o as HNSWOptions);
    const n = Number(header.n);
    idx.reserve(n);
    idx.n = n;
    idx.data.set(s.data as Float32Array);
    idx.labels.set(s.labels as Int32Array);
    idx.levels.set(s.levels as Uint8Array);
    idx.deleted.set(s.deleted as Uint8Array);
    idx.links0.set(s.links0 as Int32Array);
    idx.entry = Number(header.entry);
    idx.maxLevel = Number(header.maxLevel);
    idx.nDeleted = Number(header.nDeleted);
    if ((s.perm as Int32Array).length) idx.space.perm = s.perm as Int32Array;
    const up = s.upper as Int32Array;
    let off = 0;
    for (let i = 0; i < n; i++) {
      const L = idx.levels[i]!;
      idx.upper[i] = L > 0 ? up.slice(off, off + L * (idx.M + 1)) : null;
      off += L * (idx.M + 1);
      idx.rowOf.set(idx.labels[i]!, i);
    }
    return idx;
  }
}

// ---- IVF-PQ with re-ranking ------------------------------------------------------------------------

export class PQIndex implements VectorIndex<PQQuery> {
  private space: Space;
  private readonly d: number;
  private readonly m: number;
  private readonly dsub: number;
  private readonly ksub: number;
  private cents: Float32Array = new Float32Array(0);
  /** m codebooks of ksub centroids of dsub values: codebook j, centroid c at (j·ksub + c)·dsub. */
  private books: Float32Array = new Float32Array(0);
  private codes: Uint8Array[] = [];
  private ids: Int32Array[] = [];
  private counts: Int32Array = new Int32Array(0);
  private total = 0;
  private q: Float64Array;
  private v: Float32Array;
  private r: Float32Array;
  private table: Float32Array;
  private heap = new Heap(64, true);
  private cells = new Heap(64, false);

  constructor(private readonly o: PQOptions) {
    this.space = new Space(o.dim, o.metric);
    if (!(Number.isInteger(o.m) && o.m > 0 && o.dim % o.m === 0)) throw new Error(`m must divide dim (${o.dim}), got ${o.m}`);
    if (o.nbits !== 8) throw new Error(`nbits must be 8, got ${o.nbits}`);
    if (!(Number.isInteger(o.nlist) && o.nlist > 0)) throw new Error(`nlist must be a positive integer, got ${o.nlist}`);
    this.d = o.dim;
    this.m = o.m;
    this.dsub = o.dim / o.m;
    this.ksub = 1 << o.nbits;
    this.q = new Float64Array(o.dim);
    this.v = new Float32Array(o.dim);
    this.r = new Float32Array(o.dim);
    this.table = new Float32Array(this.m * this.ksub);
  }

  train(vectors: Float32Array): void {
    const { d, m, dsub, ksub } = this;
    const ip = !this.space.l2;
    const n = vectors.length / d;
    const x = new Float32Array(n * d);
    for (let i = 0; i < n; i++) this.space.store(vectors, i * d, x, i * d);
    this.cents = kmeans(x, d, this.o.nlist, this.o.seed ?? 1, 20, ip);
    // Residuals (x − its cell's centroid) are what the sub-quantizers encode.
    const res = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const [c] = nearest(this.cents, this.o.nlist, x, i * d, d, ip);
      for (let j = 0; j < d; j++) res[i * d + j] = x[i * d + j]! - this.cents[c * d + j]!;
    }
    this.books = new Float32Array(m * ksub * dsub);
    const sub = new Float32Array(n * dsub);
    for (let j = 0; j < m; j++) {
      for (let i = 0; i < n; i++) for (let t = 0; t < dsub; t++) sub[i * dsub + t] = res[i * d + j * dsub + t]!;
      this.books.set(kmeans(sub, dsub, ksub, (this.o.seed ?? 1) + 1000 + j, 12, false), j * ksub * dsub);
    }
    this.codes = Array.from({ length: this.o.nlist }, () => new Uint8Array(0));
    this.ids = Array.from({ length: this.o.nlist }, () => new Int32Array(0));
    this.counts = new Int32Array(this.o.nlist);
  }

  add(vectors: Float32Array, ids: Int32Array): void {
    const n = checkBatch(this.d, vectors, ids);
    if (!this.codes.length) this.train(vectors);
    const { d, m, dsub, ksub } = this;
    const ip = !this.space.l2;
    const v = this.v;
    const r = this.r;
    for (let i = 0; i < n; i++) {
      this.space.store(vectors, i * d, v, 0);
      const [c] = nearest(this.cents, this.o.nlist, v, 0, d, ip);
      for (let j = 0; j < d; j++) r[j] = v[j]! - this.cents[c * d + j]!;
      const at = this.counts[c]!;
      this.codes[c] = grow(this.codes[c]!, (at + 1) * m);
      this.ids[c] = grow(this.ids[c]!, at + 1);
      for (let j = 0; j < m; j++) {
        const [code] = nearest(this.books.subarray(j * ksub * dsub, (j + 1) * ksub * dsub), ksub, r, j * dsub, dsub, false);
        this.codes[c]![at * m + j] = code;
      }
      this.ids[c]![at] = ids[i]!;
      this.counts[c] = at + 1;
    }
    this.total += n;
  }

  search(query: Float32Array, k: number, params: PQQuery): SearchResult {
    checkQuery(this.d, query, k);
    const { d, m, dsub, ksub, space } = this;
    const q = this.q;
    space.store(query, 0, q, 0);
    const cells = this.cells;
    orderCells(space, this.cents, this.o.nlist, q, cells);
    const rerank = Math.max(0, Math.floor(params.rerank || 0));
    const keep = rerank > 0 ? Math.max(k, rerank) : k;
    const h = this.heap;
    h.clear();
    const filter = params.filter;
    const table = this.table;
    const books = this.books;
    const r = this.r;
    let ndis = this.o.nlist;
    const found: number[] = [];
    // nprobe cells, and more while fewer than k vectors were found (small or filtered cells).
    for (let probed = 0; cells.size && (probed < params.nprobe || h.size < k); probed++) {
      const c = cells.topId;
      cells.pop();
      // Look-up table for this cell: distance of each sub-vector of (q − centroid) to each code.
      let base = 0;
      if (space.l2) {
        for (let j = 0; j < d; j++) r[j] = q[j]! - this.cents[c * d + j]!;
        for (let j = 0; j < m; j++) for (let code = 0; code < ksub; code++) table[j * ksub + code] = l2(books, (j * ksub + code) * dsub, r, j * dsub, dsub);
      } else {
        base = 1 - dotq(this.cents, c * d, q, d);
        for (let j = 0; j < d; j++) r[j] = q[j]!;
        for (let j = 0; j < m; j++) for (let code = 0; code < ksub; code++) table[j * ksub + code] = -dot(books, (j * ksub + code) * dsub, r, j * dsub, dsub);
      }
      const codes = this.codes[c]!;
      const ids = this.ids[c]!;
      const cnt = this.counts[c]!;
      ndis += cnt;
      for (let i = 0; i < cnt; i++) {
        if (filter && !filter(ids[i]!)) continue;
        let s = base;
        const o = i * m;
        for (let j = 0; j < m; j++) s += table[j * ksub + codes[o + j]!]!;
        if (h.size < keep) {
          h.push(s, found.length);
          found.push(ids[i]!);
        } else if (s < h.topD) {
          h.pop();
          h.push(s, found.length);
          found.push(ids[i]!);
        }
      }
    }
    if (rerank === 0) return { ...drainAscending(h, (i) => found[i]!), distanceComputations: ndis };
    // Exact distances for the best candidates by ADC, then the k best of those.
    const cand = drainAscending(h, (i) => found[i]!).ids as Int32Array;
    const n = Math.min(cand.length, rerank);
    const exact = this.heap;
    exact.clear();
    for (let i = 0; i < n; i++) {
      const dist = params.exactDistance(cand[i]!);
      if (exact.size < k) exact.push(dist, cand[i]!);
      else if (dist < exact.topD) {
        exact.pop();
        exact.push(dist, cand[i]!);
      }
    }
    return { ...drainAscending(exact, (id) => id), distanceComputations: ndis + n };
  }

  bytes(): number {
    return this.total * (this.m + 4) + this.cents.byteLength + this.books.byteLength + this.counts.byteLength + (this.space.perm ? this.d * 4 : 0);
  }

  save(path: string): void {
    const counts = this.counts;
    const codes = new Uint8Array(this.total * this.m);
    const ids = new Int32Array(this.total);
    let off = 0;
    for (let c = 0; c < counts.length; c++) {
      codes.set(this.codes[c]!.subarray(0, counts[c]! * this.m), off * this.m);
      ids.set(this.ids[c]!.subarray(0, counts[c]!), off);
      off += counts[c]!;
    }
    writeSections(path, { kind: 'pq', o: this.o }, { cents: this.cents, books: this.books, counts, codes, ids, perm: this.space.perm ?? new Int32Array(0) });
  }

  static load(path: string): PQIndex {
    const { header, s } = readSections(path);
    const idx = new PQIndex(header.o as PQOptions);
    idx.cents = s.cents as Float32Array;
    idx.books = s.books as Float32Array;
    idx.counts = s.counts as Int32Array;
    if ((s.perm as Int32Array).length) idx.space.perm = s.perm as Int32Array;
    let off = 0;
    idx.codes = [];
    idx.ids = [];
    for (const n of idx.counts) {
      idx.codes.push((s.codes as Uint8Array).slice(off * idx.m, (off + n) * idx.m));
      idx.ids.push((s.ids as Int32Array).slice(off, off + n));
      off += n;
    }
    idx.total = off;
    return idx;
  }
}
