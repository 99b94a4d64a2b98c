// The scan that checks a timed GPU output without bringing it back (GpuRunner.scanAndGather)
// also counts stores past the output's end, in the guard region that follows it.
import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, ROOT } from '../../../helpers/run.ts';
import { doctorWebgpu } from '../../../helpers/webgpu.ts';

const HAVE_WEBGPU = await doctorWebgpu();

describe.skipIf(!HAVE_WEBGPU)('scanAndGather on this machine\'s adapter', () => {
  it('counts stores in the guard (not in the padding), with the first index, and only when asked', async () => {
    const r = await execa(process.execPath, ['--import', 'tsx', path.join(FIXTURES, 'gpu', 'guard-scan.ts')], { cwd: ROOT, reject: false, timeout: 120000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    expect(out.withGuard).toEqual({ nonFinite: 0, firstNonFinite: -1, unwritten: 0, firstUnwritten: -1, pastEnd: 3, firstPastEnd: 14 });
    expect(out.samples).toEqual([1, 1]);
    expect(out.without).toEqual({ pastEnd: 0, unwritten: 0 });
  });
});
