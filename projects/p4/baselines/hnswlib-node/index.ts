// The hnswlib-node baseline: the C++ hnswlib library behind Project 4's index API, timed by
// `mlsys bench p4` next to the submission and the reference (impl name "hnswlib-node"). It has an
// HNSW index (with deletes and filters) and exact search; IVF and PQ are not in hnswlib.
// Its searches take the query as a JavaScript array (the binding reads it value by value), as
// any caller of hnswlib-node must: that cost is part of its time.
import { readFileSync, writeFileSync } from 'node:fs';
import hnswlib from 'hnswlib-node';
import type { FlatOptions, HNSWOptions, HNSWQuery, Metric, QueryParams, SearchResult } from '../../api.ts';

const { BruteforceSearch, HierarchicalNSW } = hnswlib;

function checkAdd(dim: number, vectors: Float32Array, ids: ArrayLike<number>): number {
  if (vectors.length !== ids.length * dim) throw new Error(`add: ${vectors.length} values for ${ids.length} ids of dimension ${dim}`);
  return ids.length;
}

const result = (r: { neighbors: number[]; distances: number[] }): SearchResult => ({ ids: r.neighbors, distances: r.distances });

export class HNSWIndex {
  private index: InstanceType<typeof HierarchicalNSW>;
  private capacity = 0;
  private live = 0;

  constructor(
    private readonly o: HNSWOptions,
    loaded?: InstanceType<typeof HierarchicalNSW>,
  ) {
    this.index = loaded ?? new HierarchicalNSW(o.metric as Metric, o.dim);
    if (loaded) {
      this.capacity = loaded.getMaxElements();
      this.live = loaded.getIdsList().length;
    }
  }

  add(vectors: Float32Array, ids: Int32Array): void {
    const n = checkAdd(this.o.dim, vectors, ids);
    const d = this.o.dim;
    const need = this.index.getCurrentCount() + n;
    if (this.capacity === 0) {
      this.index.initIndex({ maxElements: need, m: this.o.M, efConstruction: this.o.efConstruction, randomSeed: this.o.seed ?? 100 });
      this.capacity = need;
    } else if (need > this.capacity) {
      this.capacity = Math.max(need, 2 * this.capacity);
      this.index.resizeIndex(this.capacity);
    }
    for (let i = 0; i < n; i++) this.index.addPoint(Array.from(vectors.subarray(i * d, i * d + d)), ids[i]!);
    this.live += n;
  }

  remove(ids: Int32Array): void {
    for (const id of ids) this.index.markDelete(id);
    this.live -= ids.length;
  }

  search(query: Float32Array, k: number, params: HNSWQuery): SearchResult {
    this.index.setEf(Math.max(k, Math.floor(params.efSearch)));
    const kk = Math.min(k, this.live);
    if (kk <= 0) return { ids: [], distances: [] };
    return result(this.index.searchKnn(Array.from(query), kk, params.filter));
  }

  /** hnswlib's own layout: per element the vector, 2M+1 links on layer 0 and its label; upper layers are few. */
  bytes(): number {
    const n = this.index.getCurrentCount();
    return n * (this.o.dim * 4 + (2 * this.o.M + 1) * 4 + 8) + Math.ceil(n / this.o.M) * (this.o.M + 1) * 4;
  }

  save(path: string): void {
    this.index.writeIndexSync(path);
    writeFileSync(`${path}.json`, JSON.stringify(this.o));
  }

  static load(path: string): HNSWIndex {
    const o = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as HNSWOptions;
    const index = new HierarchicalNSW(o.metric as Metric, o.dim);
    index.readIndexSync(path, false);
    return new HNSWIndex(o, index);
  }
}

export class FlatIndex {
  private index: InstanceType<typeof BruteforceSearch>;
  private capacity = 0;

  constructor(private readonly o: FlatOptions) {
    this.index = new BruteforceSearch(o.metric as Metric, o.dim);
  }

  add(vectors: Float32Array, ids: Int32Array): void {
    const n = checkAdd(this.o.dim, vectors, ids);
    const d = this.o.dim;
    if (this.capacity === 0) {
      this.capacity = n;
      this.index.initIndex(n);
    } else throw new Error('hnswlib-node BruteforceSearch cannot grow after initIndex');
    for (let i = 0; i < n; i++) this.index.addPoint(Array.from(vectors.subarray(i * d, i * d + d)), ids[i]!);
  }

  search(query: Float32Array, k: number, params: QueryParams = {}): SearchResult {
    const kk = Math.min(k, this.index.getCurrentCount());
    if (kk <= 0) return { ids: [], distances: [] };
    return result(this.index.searchKnn(Array.from(query), kk, params.filter));
  }

  bytes(): number {
    return this.index.getCurrentCount() * (this.o.dim * 4 + 8);
  }

  save(path: string): void {
    this.index.writeIndexSync(path);
    writeFileSync(`${path}.json`, JSON.stringify(this.o));
  }

  static load(path: string): FlatIndex {
    const o = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as FlatOptions;
    const f = new FlatIndex(o);
    f.index.readIndexSync(path);
    f.capacity = f.index.getMaxElements();
    return f;
  }
}

// No IVFFlatIndex or PQIndex: hnswlib has neither, and bench times a baseline only on the tasks
// whose classes it exports (flat, hnsw, updates, hnsw_fashion_mnist).
