// A ground-truth worker: exact kNN for a range of queries, on shared memory. The parent blocks
// on `state` (Atomics.wait) until every worker has stored its status there.
import { workerData } from 'node:worker_threads';
import { knn } from './knn-exact.mjs';

const { base, n, d, queries, k, metric, ids, dists, state, slot, q0, q1 } = workerData;
const st = new Int32Array(state);
try {
  knn(new Float32Array(base), n, d, new Float32Array(queries), q0, q1, k, metric, new Int32Array(ids), new Float64Array(dists));
  Atomics.store(st, 1 + slot, 1);
} catch {
  Atomics.store(st, 1 + slot, 2);
}
Atomics.add(st, 0, 1);
Atomics.notify(st, 0);
