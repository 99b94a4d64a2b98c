// Project 4 starter: implement the four index classes. The API (every method, the distance
// definitions, the query parameters) is in projects/p4/api.ts and projects/p4/README.md; answers
// are checked against projects/p4/oracle.ts. Run: npx mlsys test p4 <this folder>
import type {
  FlatOptions,
  HNSWOptions,
  HNSWQuery,
  IVFFlatOptions,
  IVFQuery,
  MutableIndex,
  PQOptions,
  PQQuery,
  QueryParams,
  SearchResult,
  VectorIndex,
} from '../api.ts';

/** Exact search: compare the query with every vector. */
export class FlatIndex implements VectorIndex<QueryParams> {
  constructor(readonly opts: FlatOptions) {
    throw new Error('FlatIndex: not implemented yet');
  }
  add(vectors: Float32Array, ids: Int32Array): void {
    throw new Error('FlatIndex.add: not implemented yet');
  }
  search(query: Float32Array, k: number, params: QueryParams): SearchResult {
    throw new Error('FlatIndex.search: not implemented yet');
  }
  bytes(): number {
    throw new Error('FlatIndex.bytes: not implemented yet');
  }
  save(path: string): void {
    throw new Error('FlatIndex.save: not implemented yet');
  }
  static load(path: string): FlatIndex {
    throw new Error('FlatIndex.load: not implemented yet');
  }
}

/** IVF-flat: k-means cells (train), vectors in the list of their nearest centroid, nprobe lists scanned. */
export class IVFFlatIndex implements VectorIndex<IVFQuery> {
  constructor(readonly opts: IVFFlatOptions) {
    throw new Error('IVFFlatIndex: not implemented yet');
  }
  train(vectors: Float32Array): void {
    throw new Error('IVFFlatIndex.train: not implemented yet');
  }
  add(vectors: Float32Array, ids: Int32Array): void {
    throw new Error('IVFFlatIndex.add: not implemented yet');
  }
  search(query: Float32Array, k: number, params: IVFQuery): SearchResult {
    throw new Error('IVFFlatIndex.search: not implemented yet');
  }
  bytes(): number {
    throw new Error('IVFFlatIndex.bytes: not implemented yet');
  }
  save(path: string): void {
    throw new Error('IVFFlatIndex.save: not implemented yet');
  }
  static load(path: string): IVFFlatIndex {
    throw new Error('IVFFlatIndex.load: not implemented yet');
  }
}

/** HNSW: a layered proximity graph; also inserts after the build, deletes and filtered search. */
export class HNSWIndex implements MutableIndex<HNSWQuery> {
  constructor(readonly opts: HNSWOptions) {
    throw new Error('HNSWIndex: not implemented yet');
  }
  add(vectors: Float32Array, ids: Int32Array): void {
    throw new Error('HNSWIndex.add: not implemented yet');
  }
  remove(ids: Int32Array): void {
    throw new Error('HNSWIndex.remove: not implemented yet');
  }
  search(query: Float32Array, k: number, params: HNSWQuery): SearchResult {
    throw new Error('HNSWIndex.search: not implemented yet');
  }
  bytes(): number {
    throw new Error('HNSWIndex.bytes: not implemented yet');
  }
  save(path: string): void {
    throw new Error('HNSWIndex.save: not implemented yet');
  }
  static load(path: string): HNSWIndex {
    throw new Error('HNSWIndex.load: not implemented yet');
  }
}

/** Product quantization (IVF-PQ when nlist > 1): m-byte codes, ADC look-up tables, exact re-ranking. */
export class PQIndex implements VectorIndex<PQQuery> {
  constructor(readonly opts: PQOptions) {
    throw new Error('PQIndex: not implemented yet');
  }
  train(vectors: Float32Array): void {
    throw new Error('PQIndex.train: not implemented yet');
  }
  add(vectors: Float32Array, ids: Int32Array): void {
    throw new Error('PQIndex.add: not implemented yet');
  }
  search(query: Float32Array, k: number, params: PQQuery): SearchResult {
    throw new Error('PQIndex.search: not implemented yet');
  }
  bytes(): number {
    throw new Error('PQIndex.bytes: not implemented yet');
  }
  save(path: string): void {
    throw new Error('PQIndex.save: not implemented yet');
  }
  static load(path: string): PQIndex {
    throw new Error('PQIndex.load: not implemented yet');
  }
}
