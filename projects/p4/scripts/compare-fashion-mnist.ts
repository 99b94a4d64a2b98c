// Course staff: the reference HNSW against hnswlib-node on Fashion-MNIST, in one process, on one
// core, queries one at a time, the two interleaved (ef by ef, several passes, best pass kept).
// For the record in RESULTS.md; `mlsys bench` (README) gives the same comparison through the harness.
//
//   npx tsx projects/p4/scripts/compare-fashion-mnist.ts [--M 16] [--efc 100] [--queries 1000] [--passes 5] [--index-dir DIR]
//
// With --index-dir, both built indexes are saved there and loaded on the next run (builds take
// minutes). Prints one JSON object: build times, per-ef recall@10 and QPS, and QPS at recall 0.9.
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import hnswlib from 'hnswlib-node';
import { HNSWIndex } from '../../../reference/p4/index.ts';
import { dataset, FASHION } from '../datasets.ts';
import { distance, recallCount } from '../oracle.ts';
import { qpsAtRecall, TARGET_RECALL } from '../project.ts';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const M = Number(arg('M', '16'));
const efC = Number(arg('efc', '100'));
const passes = Number(arg('passes', '5'));
const efs = arg('ef', '10,12,16,20,24,32,48,64,96,128').split(',').map(Number);
const dir = arg('index-dir', '');

const ds = dataset(FASHION);
const { d, n } = ds;
const nq = Math.min(ds.nq, Number(arg('queries', String(ds.nq))));
const ids = Int32Array.from({ length: n }, (_, i) => i);

let t0 = performance.now();
let ref: HNSWIndex;
let refBuild: number | null = null;
const refFile = dir && path.join(dir, `ref-M${M}-efc${efC}.idx`);
if (refFile && existsSync(refFile)) ref = HNSWIndex.load(refFile);
else {
  ref = new HNSWIndex({ dim: d, metric: 'l2', M, efConstruction: efC, seed: 1 });
  ref.add(ds.base, ids);
  refBuild = (performance.now() - t0) / 1000;
  if (refFile) {
    mkdirSync(dir, { recursive: true });
    ref.save(refFile);
  }
}
t0 = performance.now();
const lib = new hnswlib.HierarchicalNSW('l2', d);
let libBuild: number | null = null;
const libFile = dir && path.join(dir, `hnswlib-M${M}-efc${efC}.idx`);
if (libFile && existsSync(libFile)) lib.readIndexSync(libFile);
else {
  lib.initIndex({ maxElements: n, m: M, efConstruction: efC, randomSeed: 1 });
  for (let i = 0; i < n; i++) lib.addPoint(Array.from(ds.base.subarray(i * d, i * d + d)), i);
  libBuild = (performance.now() - t0) / 1000;
  if (libFile) lib.writeIndexSync(libFile);
}

type Impl = 'reference' | 'hnswlib-node';
function pass(impl: Impl, ef: number): { ms: number; hits: number } {
  let ms = 0;
  let hits = 0;
  if (impl === 'hnswlib-node') lib.setEf(ef);
  for (let q = 0; q < nq; q++) {
    const query = ds.queries.subarray(q * d, q * d + d);
    const s = performance.now();
    const got = impl === 'reference' ? ref.search(query, 10, { efSearch: ef }).ids : lib.searchKnn(Array.from(query), 10).neighbors;
    ms += performance.now() - s;
    const trueD = Array.from(got, (id) => distance('l2', ds.queries, q, ds.base, id, d));
    hits += recallCount('l2', trueD, ds.gt.dists[q * ds.gt.k + 9]!);
  }
  return { ms, hits };
}

const impls: Impl[] = ['reference', 'hnswlib-node'];
for (const impl of impls) pass(impl, 32); // warm-up (JIT, caches)
const rows: { impl: Impl; ef: number; recall: number; qps: number }[] = [];
for (const ef of efs) {
  const best: Record<string, { ms: number; hits: number }> = {};
  for (let p = 0; p < passes; p++)
    for (const impl of p % 2 ? [...impls].reverse() : impls) {
      const r = pass(impl, ef);
      if (!best[impl] || r.ms < best[impl]!.ms) best[impl] = r;
    }
  for (const impl of impls) rows.push({ impl, ef, recall: best[impl]!.hits / (nq * 10), qps: (1000 * nq) / best[impl]!.ms });
}
const at = (impl: Impl) => qpsAtRecall(rows.filter((r) => r.impl === impl).map((r) => ({ recall: r.recall, qps: r.qps, label: String(r.ef) })), TARGET_RECALL);
const refAt = at('reference');
const libAt = at('hnswlib-node');
console.log(
  JSON.stringify(
    {
      machine: { cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), node: process.version, load: os.loadavg() },
      data: { n, nq, d },
      params: { M, efConstruction: efC, passes },
      build_s: { reference: refBuild, 'hnswlib-node': libBuild },
      rows,
      qps_at_recall_0_9: { reference: refAt, 'hnswlib-node': libAt, ratio: refAt && libAt ? refAt / libAt : null },
    },
    null,
    2,
  ),
);
