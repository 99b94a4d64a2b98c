import { describe, expect, it } from 'vitest';
import { all, allclose, expectTensor, isCheckResult } from '../../harness/check/compare.ts';
import { tensor } from '../../harness/protocol/values.ts';

describe('allclose', () => {
  it('passes within tolerance and reports the errors', () => {
    const r = allclose('out', tensor('float32', [2], [1.0001, 2]), [1, 2], { rtol: 1e-3, atol: 0 });
    expect(r.ok).toBe(true);
    expect(r.details?.max_abs_err).toBeGreaterThan(0);
  });

  it('names the worst index, expected vs got, and the tolerance', () => {
    const r = allclose('out', tensor('float32', [2, 3], [0, 0, 0, 0, 5, 0]), [0, 0, 0, 0, 1, 0], { rtol: 1e-3, atol: 1e-4 });
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/index \[1, 1\]/);
    expect(r.message).toMatch(/expected 1\.000000, got 5\.000000/);
    expect(r.message).toMatch(/atol 0.0001 \+ rtol 0.001/);
    expect(r.message).toMatch(/1 of 6 elements/);
  });

  it('also names the first wrong index when it is not the worst (where a decoding step went wrong)', () => {
    const r = allclose('logits', tensor('float32', [3, 2], [0, 0, 0, 1.5, 0, 9]), [0, 0, 0, 0, 0, 0], { rtol: 0, atol: 1 });
    expect(r.message).toMatch(/worst at index \[2, 1\]: expected 0\.000000, got 9\.000000 .*; the first wrong is at index \[1, 1\] \(expected 0\.000000, got 1\.500000\)$/);
    const one = allclose('logits', tensor('float32', [2], [0, 9]), [0, 0], { rtol: 0, atol: 1 });
    expect(one.message).not.toMatch(/the first wrong/);
  });

  it('reports NaN and Inf as such', () => {
    const r = allclose('out', tensor('float32', [3], [0, NaN, Infinity]), [0, 0, 0], { rtol: 1, atol: 1 });
    expect(r.ok).toBe(false);
    expect(r.message).toMatch(/NaN at index \[1\]/);
  });

  it('checks presence, dtype and shape first', () => {
    const outs = { a: tensor('int32', [2], [1, 2]), b: tensor('float32', [2, 2]) };
    const missing = expectTensor(outs, 'c', 'float32', [2]);
    expect(isCheckResult(missing) && missing.message).toMatch(/'c' is missing/);
    const dtype = expectTensor(outs, 'a', 'float32', [2]);
    expect(isCheckResult(dtype) && dtype.message).toMatch(/dtype int32, expected float32/);
    const shape = expectTensor(outs, 'b', 'float32', [4]);
    expect(isCheckResult(shape) && shape.message).toMatch(/shape \[2, 2\], expected \[4\]/);
  });
});

describe('all', () => {
  it('gives the first failure, then how the other checks went', () => {
    const good = allclose('without cache logits', tensor('float32', [1], [1]), [1], { rtol: 0, atol: 1e-3 });
    const bad = allclose('with cache logits', tensor('float32', [1], [2]), [1], { rtol: 0, atol: 1e-3 });
    const worse = allclose('lse', tensor('float32', [1], [5]), [1], { rtol: 0, atol: 1e-3 });
    const r = all(bad, good, worse);
    expect(r.ok).toBe(false);
    expect(r.message.split('\n')[0]).toBe(bad.message);
    expect(r.message.split('\n')[1]).toBe("'without cache logits' matches; also wrong: output 'lse' differs from the oracle at 1 of 1 elements");
    expect(all(good, good).ok).toBe(true);
  });
});
