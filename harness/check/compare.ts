// Comparisons projects use to check outputs against an oracle, with messages that say which
// output, which index, expected vs got, and the tolerance.
import type { CheckResult } from '../project.ts';
import { isTensor, numel, shapeStr, type DType, type Record_, type Tensor } from '../protocol/values.ts';

export interface Tolerance {
  rtol: number;
  atol: number;
}

function unravel(i: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(i % shape[d]!);
    i = Math.floor(i / shape[d]!);
  }
  return `[${idx.join(', ')}]`;
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toPrecision(7) : String(x));

/** The output `name`, checked for presence, dtype and shape; a CheckResult when it is wrong. */
export function expectTensor(
  outputs: Record_,
  name: string,
  dtype: DType | DType[],
  shape: readonly number[],
): Tensor | CheckResult {
  const t = outputs[name];
  if (!isTensor(t)) return { ok: false, message: `output '${name}' is missing or is not a tensor` };
  const dtypes = Array.isArray(dtype) ? dtype : [dtype];
  if (!dtypes.includes(t.dtype))
    return { ok: false, message: `output '${name}' has dtype ${t.dtype}, expected ${dtypes.join(' or ')}` };
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
    return { ok: false, message: `output '${name}' has shape ${shapeStr(t.shape)}, expected ${shapeStr(shape)}` };
  return t;
}

export function isCheckResult(x: unknown): x is CheckResult {
  return typeof x === 'object' && x !== null && 'ok' in x && 'message' in x;
}

/**
 * |got - expected| <= atol + rtol * |expected| everywhere (numpy's allclose), with NaN and Inf
 * reported as such. Reports the worst element and how many failed.
 */
export function allclose(name: string, got: Tensor, expected: ArrayLike<number>, tol: Tolerance): CheckResult {
  const n = numel(got.shape);
  let bad = 0;
  let firstBad = -1;
  let nonFinite = -1;
  let maxAbs = 0;
  let maxRel = 0;
  let worst = -1;
  let worstExcess = -Infinity;
  for (let i = 0; i < n; i++) {
    const g = got.data[i]!;
    const e = expected[i]!;
    if (!Number.isFinite(g)) {
      if (nonFinite < 0) nonFinite = i;
      bad++;
      if (firstBad < 0) firstBad = i;
      continue;
    }
    const d = Math.abs(g - e);
    const allowed = tol.atol + tol.rtol * Math.abs(e);
    if (d > maxAbs) maxAbs = d;
    const rel = d / Math.max(Math.abs(e), 1e-12);
    if (rel > maxRel && Math.abs(e) > tol.atol) maxRel = rel;
    if (d > allowed) {
      bad++;
      if (firstBad < 0) firstBad = i;
      if (d - allowed > worstExcess) {
        worstExcess = d - allowed;
        worst = i;
      }
    }
  }
  const details = { max_abs_err: maxAbs, max_rel_err: maxRel, mismatches: bad, elements: n, rtol: tol.rtol, atol: tol.atol };
  if (nonFinite >= 0)
    return {
      ok: false,
      message: `output '${name}' has ${String(got.data[nonFinite])} at index ${unravel(nonFinite, got.shape)} (expected ${fmt(expected[nonFinite]!)}); ${bad} of ${n} elements wrong or not finite`,
      details,
    };
  if (bad) {
    const i = worst >= 0 ? worst : firstBad;
    return {
      ok: false,
      message:
        `output '${name}' differs from the oracle at ${bad} of ${n} elements; worst at index ${unravel(i, got.shape)}: ` +
        `expected ${fmt(expected[i]!)}, got ${fmt(got.data[i]!)} (|diff| ${fmt(Math.abs(got.data[i]! - expected[i]!))} > atol ${tol.atol} + rtol ${tol.rtol} * |expected|)` +
        // Where it starts going wrong is often the better clue (a decoding step, a tile's edge).
        (firstBad !== i ? `; the first wrong is at index ${unravel(firstBad, got.shape)} (expected ${fmt(expected[firstBad]!)}, got ${fmt(got.data[firstBad]!)})` : ''),
      details,
    };
  }
  return { ok: true, message: `'${name}' matches (max abs err ${maxAbs.toExponential(2)}, max rel err ${maxRel.toExponential(2)})`, details };
}

/**
 * Combines several checks: the first failure, followed by how the others went (which part of an
 * answer is right is a clue), or a pass with all details merged.
 */
export function all(...results: CheckResult[]): CheckResult {
  const fail = results.find((r) => !r.ok);
  const details = Object.assign({}, ...results.map((r) => r.details ?? {}));
  if (!fail) return { ok: true, message: results.map((r) => r.message).join('; '), details };
  const others = results.filter((r) => r !== fail).map((r) => (r.ok ? r.message.replace(/ \(max abs err [^)]*\)/g, '') : `also wrong: ${r.message.split(';')[0]}`));
  return { ...fail, message: others.length ? `${fail.message}\n${others.join('; ')}` : fail.message, details: { ...details, ...(fail.details ?? {}) } };
}
