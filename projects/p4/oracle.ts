// Project 4's oracle: exact k-nearest neighbours in float64 (every answer is checked against it),
// the distance of any (query, vector) pair, and recall as ann-benchmarks defines it.
// Large jobs (Fashion-MNIST's ground truth) are split over worker threads; the call still returns
// synchronously (it waits on shared memory), so it can be used wherever a value is needed.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Metric } from './api.ts';
import { knn } from './knn-exact.mjs';
import { distance as kernelDistance, rowNorms } from './knn-kernel.mjs';

export interface Knn {
  /** nq·k row numbers, nearest first; −1 where fewer than k rows were eligible. */
  ids: Int32Array;
  /** Their distances (float64); Infinity where the id is −1. */
  dists: Float64Array;
  k: number;
}

/** Work (nq·n·d) above which the worker threads are used. */
const PARALLEL_WORK = 4e8;
const WORKER_URL = new URL('./knn-worker.mjs', import.meta.url);

/** The distance between `query` (row q of queries) and base row i, in float64. */
export function distance(metric: Metric, queries: Float32Array, q: number, base: Float32Array, i: number, d: number): number {
  return kernelDistance(metric, queries, q, base, i, d, null);
}

/**
 * The exact k nearest base rows of each query (rows where eligible is 0 are skipped).
 * Ties are ordered by row number (any order of equal distances is accepted by the checks).
 */
export function exactKnn(
  base: Float32Array,
  d: number,
  queries: Float32Array,
  k: number,
  metric: Metric,
  eligible: Uint8Array | null = null,
): Knn {
  const n = base.length / d;
  const nq = queries.length / d;
  const ids = new Int32Array(nq * k);
  const dists = new Float64Array(nq * k);
  const threads = Math.min(os.availableParallelism(), 16, nq);
  if (eligible === null && threads > 1 && nq * n * d > PARALLEL_WORK && parallelKnn(base, n, d, queries, nq, k, metric, ids, dists, threads)) return { ids, dists, k };
  knn(base, n, d, queries, 0, nq, k, metric, ids, dists, eligible, metric === 'cosine' ? rowNorms(base, n, d) : null);
  return { ids, dists, k };
}

/** Splits the queries over worker threads and waits for them; false if they could not run. */
function parallelKnn(
  base: Float32Array,
  n: number,
  d: number,
  queries: Float32Array,
  nq: number,
  k: number,
  metric: Metric,
  ids: Int32Array,
  dists: Float64Array,
  threads: number,
): boolean {
  const sab = (a: Float32Array) => {
    const s = new SharedArrayBuffer(a.byteLength);
    new Float32Array(s).set(a);
    return s;
  };
  const baseS = sab(base);
  const queriesS = sab(queries);
  const idsS = new SharedArrayBuffer(ids.byteLength);
  const distsS = new SharedArrayBuffer(dists.byteLength);
  const state = new SharedArrayBuffer(4 * (1 + threads));
  const st = new Int32Array(state);
  const workers: Worker[] = [];
  const per = Math.ceil(nq / threads);
  try {
    for (let w = 0; w < threads; w++) {
      const q0 = w * per;
      const q1 = Math.min(nq, q0 + per);
      if (q0 >= q1) {
        Atomics.store(st, 1 + w, 1);
        Atomics.add(st, 0, 1);
        continue;
      }
      const wk = new Worker(WORKER_URL, { workerData: { base: baseS, n, d, queries: queriesS, k, metric, ids: idsS, dists: distsS, state, slot: w, q0, q1 } });
      wk.unref();
      wk.on('error', () => {});
      workers.push(wk);
    }
    // A worker that cannot start never signals: give up on the threads after a long silence.
    const deadline = Date.now() + Math.max(600_000, (nq * n * d) / 1e5);
    for (;;) {
      const done = Atomics.load(st, 0);
      if (done >= threads) break;
      if (Date.now() > deadline) return false;
      Atomics.wait(st, 0, done, 1000);
    }
    for (let w = 0; w < threads; w++) if (Atomics.load(st, 1 + w) !== 1) return false;
    ids.set(new Int32Array(idsS));
    dists.set(new Float64Array(distsS));
    return true;
  } catch {
    return false;
  } finally {
    for (const wk of workers) void wk.terminate();
  }
}

/**
 * recall@k as ann-benchmarks defines it: a returned id counts when its true distance is at most
 * the true k-th distance + eps (Euclidean distance, not squared, for l2). `returned` holds the true
 * distances of what the search returned (one query); `kth` the true k-th distance.
 */
export function recallCount(metric: Metric, returned: ArrayLike<number>, kth: number, eps = 1e-3): number {
  const threshold = metric === 'l2' ? Math.sqrt(Math.max(kth, 0)) + eps : kth + eps;
  let c = 0;
  for (let j = 0; j < returned.length; j++) {
    const dj = metric === 'l2' ? Math.sqrt(Math.max(returned[j]!, 0)) : returned[j]!;
    if (dj <= threshold) c++;
  }
  return c;
}
