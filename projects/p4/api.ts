// Project 4's student API: the index classes index.ts must export. Vectors are float32, row-major
// (vector i is values i·dim … i·dim + dim − 1). See projects/p4/README.md for every rule.

/**
 * - `l2`: squared Euclidean distance, Σ (q_j − x_j)².
 * - `cosine`: 1 − cos(q, x) = 1 − ⟨q, x⟩ / (‖q‖·‖x‖).
 * - `ip`: 1 − ⟨q, x⟩ (inner product, as hnswlib defines it).
 * Smaller is nearer for all three.
 */
export type Metric = 'l2' | 'cosine' | 'ip';

export interface IndexOptions {
  /** Dimension of every vector. */
  dim: number;
  metric: Metric;
}

/** Exact (brute-force) search. */
export type FlatOptions = IndexOptions;

export interface IVFFlatOptions extends IndexOptions {
  /** Number of k-means cells (inverted lists). */
  nlist: number;
  /** Seed for k-means initialisation (use it: the same seed should give the same index). */
  seed: number;
}

export interface HNSWOptions extends IndexOptions {
  /** Links per node on the upper layers (2·M on layer 0). */
  M: number;
  efConstruction: number;
  /** Seed for the random level of each node. */
  seed: number;
}

export interface PQOptions extends IndexOptions {
  /** Number of sub-quantizers; dim is divisible by m. Each code is m bytes (nbits = 8). */
  m: number;
  /** Bits per sub-quantizer code: 8 (256 centroids per sub-space). */
  nbits: number;
  /** Coarse k-means cells: 1 is plain PQ, > 1 is IVF-PQ. */
  nlist: number;
  seed: number;
}

export interface QueryParams {
  /**
   * When present, only ids for which filter(id) is true may be returned (filtered search). The
   * result then has min(k, number of matching live vectors) entries.
   */
  filter?: (id: number) => boolean;
}

export type FlatQuery = QueryParams;

export interface IVFQuery extends QueryParams {
  /** Number of cells to scan. */
  nprobe: number;
}

export interface HNSWQuery extends QueryParams {
  efSearch: number;
}

export interface PQQuery extends QueryParams {
  /** Cells to scan (ignored when nlist is 1). */
  nprobe: number;
  /**
   * Re-rank this many of the best candidates by approximate (ADC) distance with their exact
   * distance; 0: no re-ranking (return ADC distances).
   */
  rerank: number;
  /**
   * The exact distance between this query and the vector with this id. It stands in for full
   * vectors kept on disk: it is counted, and a search may call it at most `rerank` times.
   */
  exactDistance: (id: number) => number;
}

export interface SearchResult {
  /** The ids found, nearest first: min(k, eligible vectors) of them, no id twice. */
  ids: ArrayLike<number>;
  /** Their distances (in the metric's definition above), ascending. */
  distances: ArrayLike<number>;
  /** Optional: how many distances this search computed (reported as distance_computations). */
  distanceComputations?: number;
}

/** What every index class provides. Q is its query parameters. */
export interface VectorIndex<Q extends QueryParams = QueryParams> {
  /**
   * Called once before the first add when the class has it (IVF and PQ learn their centroids
   * here): `vectors` holds n = vectors.length / dim training vectors.
   */
  train?(vectors: Float32Array): void | Promise<void>;
  /** Adds n = ids.length vectors. May be called again after the first build (inserts). */
  add(vectors: Float32Array, ids: Int32Array): void | Promise<void>;
  /** The k nearest live vectors to `query` (length dim). Synchronous: it is timed per query. */
  search(query: Float32Array, k: number, params: Q): SearchResult;
  /** Optional: nq = queries.length / dim searches at once (timed by the `batch` bench cases). */
  searchBatch?(queries: Float32Array, k: number, params: Q): SearchResult[];
  /** Bytes of memory the index holds (vectors, codes, graph, centroids, ids...). */
  bytes(): number;
  /** Writes the index to one file (in the scratch folder the harness gives). */
  save(path: string): void | Promise<void>;
}

/** The HNSW index also supports deletes (task `updates`). */
export interface MutableIndex<Q extends QueryParams = QueryParams> extends VectorIndex<Q> {
  /** Removes these ids: later searches never return them. Removing an unknown id is an error. */
  remove(ids: Int32Array): void | Promise<void>;
}

/** A class as exported: constructor plus a static load(path) that reads what save wrote. */
export interface IndexClass<O, I> {
  new (opts: O): I;
  load(path: string): I | Promise<I>;
}

/**
 * What index.ts exports:
 *
 *   export class FlatIndex    implements VectorIndex<FlatQuery>   { constructor(o: FlatOptions) ... static load(path) ... }
 *   export class IVFFlatIndex implements VectorIndex<IVFQuery>    { constructor(o: IVFFlatOptions) ... }
 *   export class HNSWIndex    implements MutableIndex<HNSWQuery>  { constructor(o: HNSWOptions) ... }
 *   export class PQIndex      implements VectorIndex<PQQuery>     { constructor(o: PQOptions) ... }
 */
export interface P4Exports {
  FlatIndex: IndexClass<FlatOptions, VectorIndex<FlatQuery>>;
  IVFFlatIndex: IndexClass<IVFFlatOptions, VectorIndex<IVFQuery>>;
  HNSWIndex: IndexClass<HNSWOptions, MutableIndex<HNSWQuery>>;
  PQIndex: IndexClass<PQOptions, VectorIndex<PQQuery>>;
}
