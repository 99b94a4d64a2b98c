// Exact k-nearest-neighbour search in float64: the oracle's kernel, used inline for small jobs
// and by the ground-truth workers (knn-worker.mjs) for large ones. Grader-only (project.ts): a
// submission's process may not load it. Plain JavaScript so a worker thread can load it without a
// TypeScript loader. Types: knn-exact.d.mts. Distances as in knn-kernel.mjs.
import { rowNorm2, rowNorms } from './knn-kernel.mjs';

const QB = 8; // queries per tile: each base vector is read once per tile, not once per query

/** Sift the new root of a max-heap (by distance, then id) of size m down. */
function siftDown(hd, hi, base, m) {
  let p = 0;
  const d = hd[base];
  const id = hi[base];
  for (;;) {
    let c = 2 * p + 1;
    if (c >= m) break;
    if (c + 1 < m && (hd[base + c + 1] > hd[base + c] || (hd[base + c + 1] === hd[base + c] && hi[base + c + 1] > hi[base + c]))) c++;
    if (hd[base + c] > d || (hd[base + c] === d && hi[base + c] > id)) {
      hd[base + p] = hd[base + c];
      hi[base + p] = hi[base + c];
      p = c;
    } else break;
  }
  hd[base + p] = d;
  hi[base + p] = id;
}

function siftUp(hd, hi, base, p) {
  const d = hd[base + p];
  const id = hi[base + p];
  while (p > 0) {
    const par = (p - 1) >> 1;
    if (hd[base + par] < d || (hd[base + par] === d && hi[base + par] < id)) {
      hd[base + p] = hd[base + par];
      hi[base + p] = hi[base + par];
      p = par;
    } else break;
  }
  hd[base + p] = d;
  hi[base + p] = id;
}

/**
 * The exact k nearest base rows for query rows q0 … q1 − 1. Results go to outIds/outDists at
 * q·k … q·k + k − 1, nearest first (ties by row number); rows that `eligible` marks 0 are skipped,
 * and when fewer than k rows are eligible the rest is filled with id −1 and distance Infinity.
 */
export function knn(base, n, d, queries, q0, q1, k, metric, outIds, outDists, eligible = null, baseNorms = null) {
  const norms = metric === 'cosine' ? (baseNorms ?? rowNorms(base, n, d)) : null;
  const hd = new Float64Array(QB * k);
  const hi = new Int32Array(QB * k);
  const size = new Int32Array(QB);
  const acc = new Float64Array(QB);
  const qn = new Float64Array(QB);
  for (let t0 = q0; t0 < q1; t0 += QB) {
    const nt = Math.min(QB, q1 - t0);
    size.fill(0);
    for (let t = 0; t < nt; t++) qn[t] = metric === 'cosine' ? Math.sqrt(rowNorm2(queries, (t0 + t) * d, d)) : 0;
    for (let i = 0; i < n; i++) {
      if (eligible !== null && !eligible[i]) continue;
      const bo = i * d;
      for (let t = 0; t < nt; t++) {
        const qo = (t0 + t) * d;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        let j = 0;
        if (metric === 'l2') {
          for (; j + 3 < d; j += 4) {
            const a0 = queries[qo + j] - base[bo + j];
            const a1 = queries[qo + j + 1] - base[bo + j + 1];
            const a2 = queries[qo + j + 2] - base[bo + j + 2];
            const a3 = queries[qo + j + 3] - base[bo + j + 3];
            s0 += a0 * a0;
            s1 += a1 * a1;
            s2 += a2 * a2;
            s3 += a3 * a3;
          }
          for (; j < d; j++) {
            const a = queries[qo + j] - base[bo + j];
            s0 += a * a;
          }
        } else {
          for (; j + 3 < d; j += 4) {
            s0 += queries[qo + j] * base[bo + j];
            s1 += queries[qo + j + 1] * base[bo + j + 1];
            s2 += queries[qo + j + 2] * base[bo + j + 2];
            s3 += queries[qo + j + 3] * base[bo + j + 3];
          }
          for (; j < d; j++) s0 += queries[qo + j] * base[bo + j];
        }
        acc[t] = s0 + s1 + s2 + s3;
      }
      for (let t = 0; t < nt; t++) {
        let dist = acc[t];
        if (metric === 'ip') dist = 1 - dist;
        else if (metric === 'cosine') {
          const den = qn[t] * norms[i];
          dist = den > 0 ? 1 - dist / den : 1;
        }
        const hb = t * k;
        const m = size[t];
        if (m < k) {
          hd[hb + m] = dist;
          hi[hb + m] = i;
          siftUp(hd, hi, hb, m);
          size[t] = m + 1;
        } else if (dist < hd[hb] || (dist === hd[hb] && i < hi[hb])) {
          hd[hb] = dist;
          hi[hb] = i;
          siftDown(hd, hi, hb, k);
        }
      }
    }
    for (let t = 0; t < nt; t++) {
      const hb = t * k;
      const m = size[t];
      const order = Array.from({ length: m }, (_, x) => x).sort((a, b) => hd[hb + a] - hd[hb + b] || hi[hb + a] - hi[hb + b]);
      const ob = (t0 + t) * k;
      for (let x = 0; x < k; x++) {
        if (x < m) {
          outIds[ob + x] = hi[hb + order[x]];
          outDists[ob + x] = hd[hb + order[x]];
        } else {
          outIds[ob + x] = -1;
          outDists[ob + x] = Infinity;
        }
      }
    }
  }
}
