import { describe, expect, it } from 'vitest';
import { quantile, summarize } from '../../harness/measure/stats.ts';
import { perfCredit } from '../../harness/grade/score.ts';
import { CappedOutput } from '../../harness/runner/output-cap.ts';
import { Rng, seedFrom } from '../../harness/rng.ts';
import path from 'node:path';
import { FIXTURES, run } from '../helpers/run.ts';

describe('timing summaries', () => {
  it('computes median, IQR and spread as numpy does (linear interpolation)', () => {
    const s = summarize([5, 1, 4, 2, 3]);
    expect(s.median).toBe(3);
    expect(s.iqr).toBe(2); // q75 4 - q25 2
    expect(s.spread).toBeCloseTo(2 / 3);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10], 0.9)).toBe(10);
  });
});

describe('speed credit curve', () => {
  it('is 0 at or below the floor, 1 at or above the target, linear between', () => {
    expect(perfCredit(0.2, 0.25, 0.8)).toBe(0);
    expect(perfCredit(0.25, 0.25, 0.8)).toBe(0);
    expect(perfCredit(0.525, 0.25, 0.8)).toBeCloseTo(0.5);
    expect(perfCredit(0.8, 0.25, 0.8)).toBe(1);
    expect(perfCredit(5, 0.25, 0.8)).toBe(1);
    expect(perfCredit(NaN, 0.25, 0.8)).toBe(0);
  });
});

describe('captured output', () => {
  it('keeps the head and the tail within its limit and says how much it dropped', () => {
    const c = new CappedOutput(1000);
    c.push(Buffer.from('HEAD'.repeat(100)));
    for (let i = 0; i < 1000; i++) c.push(Buffer.from('x'.repeat(100)));
    c.push(Buffer.from('THE-END'));
    const text = c.text();
    expect(text.startsWith('HEAD')).toBe(true);
    expect(text.endsWith('THE-END')).toBe(true);
    expect(text.length).toBeLessThan(1200);
    expect(c.flooded).toBe(true);
    expect(text).toMatch(/bytes of output dropped/);
  });

  it('names what the output came from, once, and only when something was printed', () => {
    const c = new CappedOutput();
    c.push(Buffer.from('at load\n'));
    c.label('case a/0');
    c.label('case a/1'); // printed nothing for a/0
    c.push(Buffer.from('one'));
    c.push(Buffer.from(' line\n'));
    c.label('case a/1');
    c.push(Buffer.from('more\n'));
    c.label('case a/2');
    c.push(Buffer.from('no newline'));
    c.label('case a/3');
    c.push(Buffer.from('x\n'));
    expect(c.text()).toBe('at load\n--- case a/1 ---\none line\nmore\n--- case a/2 ---\nno newline\n--- case a/3 ---\nx\n');
  });

  it('after a flood, says which case the tail still belongs to', () => {
    const c = new CappedOutput(1000);
    c.label('case a/0');
    c.push(Buffer.from('start\n'));
    c.label('case a/1');
    for (let i = 0; i < 100; i++) c.push(Buffer.from('y'.repeat(99) + '\n'));
    expect(c.text()).toMatch(/^--- case a\/0 ---\nstart\n--- case a\/1 ---\ny+[\s\S]*\[\.\.\. \d+ bytes of output dropped \.\.\.\]\n--- case a\/1 \(continued\) ---\ny/);
  });
});

describe('seeded generator', () => {
  it('gives the same numbers for the same seed, and different ones otherwise', () => {
    const a = new Rng(seedFrom('p2', 'attention', '0'));
    const b = new Rng(seedFrom('p2', 'attention', '0'));
    const c = new Rng(seedFrom('p2', 'attention', '1'));
    const xs = Array.from({ length: 5 }, () => a.normal());
    expect(Array.from({ length: 5 }, () => b.normal())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.normal())).not.toEqual(xs);
    // A fixed value, so a change of generator (which would change every case) is noticed.
    expect(seedFrom('p2', 'attention', 'public', '0')).toBe(2658158188);
  });
});

describe('printing while timed', () => {
  it("is flagged on the timed case, with how much was printed (the submission's timings are slowed by it); not tfjs's greeting at first use", async () => {
    const o = await run('p2', path.join(FIXTURES, 'p2-prints-timed'), { mode: 'bench', tasks: ['attention'], backend: 'cpu' });
    const rec = o.run.perf.find((p) => p.task === 'attention')!;
    expect(rec.impls.every((i) => i.ok)).toBe(true);
    expect(rec.flags.some((f) => /^submission: printed \d+(\.\d)? (B|KiB) during its timed calls: printing is slow/.test(f))).toBe(true);
    // The reference prints nothing of its own; the cpu backend greets once, in the warm-up.
    expect(rec.flags.some((f) => f.startsWith('reference: printed'))).toBe(false);
  });

  it("is not what a timed failure reports, and the failure's message is the submission's own (its frames and paths)", async () => {
    const o = await run('p2', path.join(FIXTURES, 'p2-prints'), { mode: 'bench', tasks: ['attention'] });
    const rec = o.run.perf.find((p) => p.task === 'attention')!;
    expect(rec.flags.some((f) => f.includes('printed'))).toBe(false);
    const sub = rec.impls.find((i) => i.impl === 'submission')!;
    expect(sub.message).toMatch(/causal masking is not done yet\n\s+at attention \(index\.ts:\d+:\d+\)$/);
  });
});
