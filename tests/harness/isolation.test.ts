// What the submission's process can and cannot see, and the limits on its total time.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCgroup } from '../../harness/runner/cgroup.ts';
import { describe, expect, it } from 'vitest';
import { FIXTURES, HAVE_SANDBOX, ROOT, run } from '../helpers/run.ts';

describe.skipIf(!HAVE_SANDBOX)('the grader secret (sandboxed)', () => {
  it('never reaches the submission: not in its environment, not in any process it can read', async () => {
    const secret = 'S3CRET-do-not-leak-4711';
    process.env.MLSYS_HIDDEN_SECRET = secret; // as a TA would export it
    try {
      const o = await run('p2', path.join(FIXTURES, 'p2-env-spy'), { tasks: ['attention'], caseId: 'attention/0', sandbox: true, hidden: true, secret });
      const msg = o.run.cases[0]!.message;
      expect(msg).toMatch(/^Error: SEEN /);
      expect(msg).not.toContain(secret);
      expect(msg).not.toContain('MLSYS_HIDDEN_SECRET');
    } finally {
      delete process.env.MLSYS_HIDDEN_SECRET;
    }
  });
});

describe('total time limit of a submission', () => {
  it('stops running cases once the limit is spent, and says why', async () => {
    // Each call takes at least 1.5 s: the first case runs, the limit is then spent.
    const o = await run('p2', path.join(FIXTURES, 'p2-slow'), { tasks: ['linearAttention'], submissionTimeoutMs: 1000 });
    const [a, b, c] = o.run.cases;
    expect(a!.status).toBe('passed');
    for (const x of [b, c]) {
      expect(x).toMatchObject({ status: 'failed', kind: 'timeout' });
      expect(x!.message).toMatch(/not run: the submission's total time limit \(1 s for all cases\) was reached/);
    }
  });
});

const HAVE_CGROUP = (() => {
  const g = createCgroup({ memoryBytes: 2 ** 30, pids: 64 });
  g?.remove();
  return g !== null;
})();

describe.skipIf(!HAVE_SANDBOX || !HAVE_CGROUP)('the sandbox memory limit (cgroup)', () => {
  it('ends a submission that touches more memory than allowed, as out of memory, and removes its group', async () => {
    const o = await run('p2', path.join(FIXTURES, 'p2-memory-hog'), { caseId: 'attention/0', sandbox: true });
    expect(o.run.cases[0]).toMatchObject({ status: 'failed', kind: 'out_of_memory' });
    expect(o.run.cases[0]!.message).toMatch(/the sandbox's memory limit \(4\.00 GiB\) was reached/);
    const left = () => readdirSync('/sys/fs/cgroup/pids').filter((d) => d.startsWith(`mlsys-${process.pid}-`));
    for (let i = 0; i < 25 && left().length; i++) await new Promise((r) => setTimeout(r, 200));
    expect(left()).toEqual([]);
  });
});

void ROOT;

describe("a project's node flags", () => {
  it('reach the submission\'s node before the driver\'s own, less those this node does not know', async () => {
    const { driverArgs } = await import('../../harness/runner/launcher.ts');
    const { BubblewrapLauncher } = await import('../../harness/runner/sandbox.ts');
    const p1 = (await import('../../projects/p1/project.ts')).default;
    expect(p1.nodeFlags).toContain('--disable-wasm-trap-handler');
    const args = driverArgs(ROOT, ['--disable-wasm-trap-handler', '--no-such-flag-here']);
    expect(args[0]).toBe('--disable-wasm-trap-handler');
    expect(args).not.toContain('--no-such-flag-here');
    expect(args.at(-1)).toBe(path.join(ROOT, 'harness/child/driver.ts'));
    // The sandbox's command line carries them too (building it runs nothing).
    const scratch = mkdtempSync(path.join(os.tmpdir(), 'mlsys-scratch-'));
    const cmd = new BubblewrapLauncher().command({ submissionDir: path.join(FIXTURES, 'p1-runtime'), scratchDir: scratch, env: {}, gpu: false, nodeFlags: ['--disable-wasm-trap-handler'] });
    try {
      expect(cmd.args.slice(cmd.args.indexOf(process.execPath))).toEqual([process.execPath, ...args.filter((a) => a !== '--no-such-flag-here')]);
    } finally {
      cmd.cleanup?.();
      for (const d of [scratch, `${scratch}.sub`]) rmSync(d, { recursive: true, force: true });
    }
  });
});
