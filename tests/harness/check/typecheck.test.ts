// test's type check: tsc's errors in a submission kept outside the mlsys folder (read from a copy
// laid out beside the project's api.ts), none for the reference read in place, nothing for
// JavaScript; and `mlsys test` prints them after the failures.
import { execa } from 'execa';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { typeCheck } from '../../../harness/check/typecheck.ts';
import { ROOT, tmpOut } from '../../helpers/run.ts';

const API = path.join(ROOT, 'projects', 'p2', 'api.ts');

function starterWith(extra: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mlsys-types-test-'));
  cpSync(path.join(ROOT, 'projects', 'p2', 'starter'), dir, { recursive: true });
  writeFileSync(path.join(dir, 'index.ts'), `${extra}\n`, { flag: 'a' });
  return dir;
}

describe('the type check of test', () => {
  it("reports tsc's errors with the file, line and column, also for a folder outside the mlsys folder ('../api.ts' still resolves)", async () => {
    const dir = starterWith("export const wrong: number = 'a';");
    const r = await typeCheck(dir, path.join(dir, 'index.ts'), [API]);
    expect(r).toEqual({ errors: [expect.stringMatching(/^index\.ts\(\d+,14\): error TS2322: Type 'string' is not assignable to type 'number'\.$/)] });
    // The starter is clean: the api.ts types and tfjs's resolve from the copy, which is an ES
    // module as the staged copy that runs is (top-level await and import.meta are fine).
    const clean = starterWith('export const here = import.meta.url;\nawait Promise.resolve();');
    expect(await typeCheck(clean, path.join(clean, 'index.ts'), [API])).toEqual({ errors: [] });
  });

  it('is skipped, not thrown, when it cannot be set up (the run goes on)', async () => {
    const dir = starterWith('');
    const r = await typeCheck(dir, path.join(dir, 'index.ts'), [path.join(dir, 'no-such-api.ts')]);
    expect(r).toMatchObject({ skipped: expect.stringMatching(/^the type check could not be run: /) });
  });

  it('reads a folder inside the mlsys folder where it is (the reference: clean), and skips JavaScript', async () => {
    for (const p of ['p1', 'p2', 'p3', 'p4']) {
      const dir = path.join(ROOT, 'reference', p);
      expect(await typeCheck(dir, path.join(dir, 'index.ts'), []), p).toEqual({ errors: [] });
    }
    expect(await typeCheck('/tmp', '/tmp/index.js', [])).toEqual({ skipped: 'the entry is JavaScript' });
  });

  it('mlsys test prints them after the failures, saying they are not graded', async () => {
    const dir = starterWith("export const wrong: number = 'a';");
    const r = await execa(process.execPath, [path.join(ROOT, 'bin', 'mlsys.js'), 'test', 'p2', dir, '--case', 'attention/0', '--sandbox', 'off', '--out', tmpOut()], { cwd: ROOT, reject: false });
    expect(r.stdout).toMatch(/\nType errors \(tsc --strict; not graded: [^\n]*\n {2}index\.ts\(\d+,14\): error TS2322/);
  });
});
