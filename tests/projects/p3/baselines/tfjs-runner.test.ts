// The tfjs-webgpu baseline's attention (projects/p3/baselines/tfjs-runner.ts): a size whose
// scores exceed a storage binding is refused with the reason, instead of the wrong result tfjs
// returned there without an error on an H100 and an H200; a size that fits runs and is right.
import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, ROOT } from '../../../helpers/run.ts';
import { doctorWebgpu } from '../../../helpers/webgpu.ts';

const HAVE_WEBGPU = await doctorWebgpu();

describe.skipIf(!HAVE_WEBGPU)('the tfjs-webgpu attention baseline', () => {
  it('refuses scores larger than a storage binding, and runs a size that fits', async () => {
    const r = await execa(process.execPath, ['--import', 'tsx', path.join(FIXTURES, 'gpu', 'tfjs-attention-size.ts')], { cwd: ROOT, reject: false, timeout: 120000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { refused: string; o: number[] };
    expect(out.refused).toMatch(/unfused attention holds its scores \(B·H·Sq·Sk floats, 32\.00 GiB\) in one buffer, over the .* this device can bind: not run at this size/);
    // One query and one key: the softmax is 1, so the output is v.
    expect(out.o).toEqual([0.5, -1, 2, 8]);
  });
});
