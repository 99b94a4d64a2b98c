// The warm-up before every timed GPU pass lasts about 30 ms whatever the GPU and its clock:
// the next run's number of dispatches comes from the last warm-up's measured length. After an
// idle gap, warm-ups are timed on their own until the clock is steady (the clock ramp).
import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { clockSteady, warmDispatches } from '../../../../harness/child/gpu/launch.ts';
import { FIXTURES, ROOT } from '../../../helpers/run.ts';
import { doctorWebgpu } from '../../../helpers/webgpu.ts';

const HAVE_WEBGPU = await doctorWebgpu();

describe('warmDispatches', () => {
  it('aims at about 30 ms from the last warm-up', () => {
    expect(warmDispatches(1, 1.5)).toBe(20); // an H100 at full clock: 1.5 ms a dispatch
    expect(warmDispatches(1, 8.6)).toBe(4); // the same GPU at its idle clock
    expect(warmDispatches(20, 30)).toBe(20); // steady
    expect(warmDispatches(4, 6)).toBe(20); // the clock went up: more dispatches
  });

  it('stays within 1 to 64 dispatches', () => {
    expect(warmDispatches(1, 200)).toBe(1); // a slow GPU: one dispatch, however long
    expect(warmDispatches(64, 0.64)).toBe(64); // a very fast one: capped
  });

  it('keeps the count when the warm-up was not timed', () => {
    expect(warmDispatches(7, 0)).toBe(7);
    expect(warmDispatches(7, Number.NaN)).toBe(7);
  });
});

describe('clockSteady', () => {
  it('waits while the clock is still rising, and for two readings', () => {
    expect(clockSteady([1.5], 1.5)).toBe(false); // one reading says nothing of a trend
    expect(clockSteady([8.6, 4.0], 1.5)).toBe(false); // ramping up
    expect(clockSteady([8.6, 4.0, 1.6, 1.58], 1.5)).toBe(true); // up, and near the best seen
  });

  it('is not satisfied by a steady clock that is well below the best seen', () => {
    expect(clockSteady([4.0, 4.0], 1.5)).toBe(false);
    expect(clockSteady([1.6, 1.62], 1.5)).toBe(true); // within 10%
  });

  it('takes a slower reading after a faster one as steady (noise, not a ramp)', () => {
    expect(clockSteady([1.5, 1.58], 1.5)).toBe(true);
  });
});

describe.skipIf(!HAVE_WEBGPU)('the clock ramp on this machine\'s adapter', () => {
  it('runs before the first run and after an idle gap, not between close runs, and outputs stay right', async () => {
    const r = await execa(process.execPath, ['--import', 'tsx', path.join(FIXTURES, 'gpu', 'ramp.ts')], { cwd: ROOT, reject: false, timeout: 120000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { skip?: string; runs?: { checks: number; ok: boolean }[] };
    if (out.skip) return; // no timestamp queries: the ramp has no gauge, and is off
    const [a, b, c] = out.runs!;
    expect([a!.ok, b!.ok, c!.ok]).toEqual([true, true, true]);
    expect(a!.checks).toBeGreaterThanOrEqual(1);
    expect(b!.checks).toBe(a!.checks);
    expect(c!.checks).toBeGreaterThan(b!.checks);
  });
});
