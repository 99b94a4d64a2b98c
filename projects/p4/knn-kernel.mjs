// Distances in float64, exact to float64 rounding: the oracle's (knn-exact.mjs) and the exact-
// distance accessor the child offers submissions (child.ts). Plain JavaScript so a worker thread
// can load it without a TypeScript loader. Types: knn-kernel.d.mts.
//
// Distances (smaller is nearer): l2 = Σ (q − x)² (squared Euclidean), cosine = 1 − ⟨q,x⟩/(‖q‖‖x‖),
// ip = 1 − ⟨q,x⟩. Every product and sum is taken in float64 (JavaScript numbers) from the float32
// inputs, and l2 is accumulated as a sum of squared differences (no ‖q‖² + ‖x‖² − 2⟨q,x⟩
// cancellation), so the distances are exact to float64 rounding.

/** ‖x_i‖ for every row (float64). */
export function rowNorms(base, n, d) {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * d;
    for (let j = 0; j < d; j++) s += base[o + j] * base[o + j];
    out[i] = Math.sqrt(s);
  }
  return out;
}

/** The distance between query row q of `queries` and base row i, in float64. */
export function distance(metric, queries, q, base, i, d, baseNorms) {
  const qo = q * d;
  const bo = i * d;
  if (metric === 'l2') {
    let s = 0;
    for (let j = 0; j < d; j++) {
      const t = queries[qo + j] - base[bo + j];
      s += t * t;
    }
    return s;
  }
  let dot = 0;
  for (let j = 0; j < d; j++) dot += queries[qo + j] * base[bo + j];
  if (metric === 'ip') return 1 - dot;
  let qq = 0;
  for (let j = 0; j < d; j++) qq += queries[qo + j] * queries[qo + j];
  const nx = baseNorms ? baseNorms[i] : Math.sqrt(rowNorm2(base, bo, d));
  const den = Math.sqrt(qq) * nx;
  return den > 0 ? 1 - dot / den : 1;
}

/** ‖row‖² of the row of `a` at offset o (float64). */
export function rowNorm2(a, o, d) {
  let s = 0;
  for (let j = 0; j < d; j++) s += a[o + j] * a[o + j];
  return s;
}
