// Which grader-only paths the sandbox hides: those inside any folder it binds (the harness's, or a
// system folder the harness may be installed in), files with /dev/null, folders with an empty one.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { masks } from '../../../harness/runner/sandbox.ts';

describe('sandbox masks', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mlsys-masks-'));
  const usr = path.join(root, 'usr');
  const oracle = path.join(usr, 'lib/mlsys/projects/p9/oracle.ts');
  const reference = path.join(usr, 'lib/mlsys/reference');
  mkdirSync(path.dirname(oracle), { recursive: true });
  writeFileSync(oracle, '');
  mkdirSync(reference, { recursive: true });
  const outside = path.join(root, 'elsewhere/reference');
  mkdirSync(outside, { recursive: true });

  it('hides what lies in a bound folder, and nothing else', () => {
    expect(masks([oracle, reference, outside, path.join(root, 'missing.ts')], [usr, `${root}/us`])).toEqual([
      '--ro-bind', '/dev/null', oracle,
      '--tmpfs', reference, '--remount-ro', reference,
    ]);
  });

  it('does not take a folder whose name only begins like a bound one', () => {
    expect(masks([oracle], [`${usr}/li`])).toEqual([]);
  });
});
