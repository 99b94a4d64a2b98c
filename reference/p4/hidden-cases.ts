// The hidden cases of Project 4: staff-only (see harness/staff.ts). This file is not in the
// student bundle and not in a submission's sandbox; the public cases are in
// projects/p4/project.ts. Their seeds come from the grader's secret. The Fashion-MNIST task is
// bench only: it has none.
import type { CaseSpec } from '../../harness/project.ts';
import type { HiddenCases } from '../../harness/staff.ts';
import { c, gen, type AnnP } from '../../projects/p4/project.ts';

const flat: CaseSpec<AnnP>[] = [
  c('l2, n 3001, d 13', gen('FlatIndex', 'l2', 3001, 13, 10, 60, {}, {}, { exact: true })),
  c('k 1, d 1', gen('FlatIndex', 'l2', 500, 1, 1, 30, {}, {}, { exact: true })),
  c('ties, cosine', gen('FlatIndex', 'cosine', 900, 6, 7, 40, {}, {}, { exact: true, ties: true })),
  c('saved and loaded', gen('FlatIndex', 'l2', 800, 24, 10, 30, {}, {}, { exact: true, saveLoad: true })),
];

const ivf: CaseSpec<AnnP>[] = [
  c('l2, n 5003, d 20, nlist 50, nprobe 10', gen('IVFFlatIndex', 'l2', 5003, 20, 10, 60, { nlist: 50, seed: 6 }, { nprobe: 10 }, { minRecall: 0.9 })),
  c('more cells than points', gen('IVFFlatIndex', 'l2', 40, 8, 5, 20, { nlist: 64, seed: 7 }, { nprobe: 64 }, { exact: true })),
  c('saved and loaded', gen('IVFFlatIndex', 'l2', 2000, 16, 10, 30, { nlist: 20, seed: 8 }, { nprobe: 8 }, { minRecall: 0.9, saveLoad: true })),
];

const hnsw: CaseSpec<AnnP>[] = [
  c('l2, n 4001, d 20, efSearch 100', gen('HNSWIndex', 'l2', 4001, 20, 10, 60, { M: 16, efConstruction: 120, seed: 5 }, { efSearch: 100 }, { minRecall: 0.95 })),
  c('k 1, tiny index', gen('HNSWIndex', 'l2', 5, 4, 1, 10, { M: 4, efConstruction: 10, seed: 6 }, { efSearch: 10 }, { exact: true })),
  c('fewer vectors (9) than k (10)', gen('HNSWIndex', 'ip', 9, 8, 10, 10, { M: 4, efConstruction: 16, seed: 7 }, { efSearch: 16 }, { exact: true })),
];

const pq: CaseSpec<AnnP>[] = [
  c('IVF-PQ d 32 m 8, re-rank 30', gen('PQIndex', 'l2', 5001, 32, 10, 60, { m: 8, nbits: 8, nlist: 24, seed: 5 }, { nprobe: 8, rerank: 30 }, { minRecall: 0.85, memory: true })),
  c('saved and loaded', gen('PQIndex', 'l2', 2000, 12, 10, 30, { m: 6, nbits: 8, nlist: 8, seed: 6 }, { nprobe: 4, rerank: 40 }, { minRecall: 0.9, memory: true, saveLoad: true })),
];

const updates: CaseSpec<AnnP>[] = [
  c('1 category in 20', gen('HNSWIndex', 'l2', 4000, 16, 10, 40, { M: 12, efConstruction: 100, seed: 6 }, { efSearch: 100 }, { filter: { categories: 20, fraction: 1 }, minRecall: 0.85 })),
  c('most vectors deleted', gen('HNSWIndex', 'l2', 1000, 8, 10, 30, { M: 8, efConstruction: 60, seed: 7 }, { efSearch: 64 }, { removes: 985, minRecall: 0.9 })),
  c('deletes, saved and loaded', gen('HNSWIndex', 'cosine', 2000, 16, 10, 30, { M: 12, efConstruction: 80, seed: 8 }, { efSearch: 64 }, { inserts: 300, removes: 300, saveLoad: true, minRecall: 0.9 })),
];

export default { flat, ivf, hnsw, pq, updates } satisfies HiddenCases;
