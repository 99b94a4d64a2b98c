// A baseline whose package is an optional dependency that did not install (no C++ toolchain on a
// laptop) is left out of `bench` with a warning saying so; the others are timed.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { missingPackages, usableBaselines } from '../../../harness/grade/baselines.ts';
import { findProject } from '../../../harness/projects.ts';

describe('baselines with optional packages', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'mlsys-baselines-'));
  mkdirSync(path.join(root, 'node_modules', 'present'), { recursive: true });
  writeFileSync(path.join(root, 'node_modules', 'present', 'package.json'), '{"name":"present"}');

  it('leaves out a baseline whose package is missing, and says how to add it', () => {
    const warnings: string[] = [];
    const kept = usableBaselines(
      [
        { name: 'lib-a', dir: '/a', requires: ['present'] },
        { name: 'lib-b', dir: '/b', requires: ['present', 'absent'] },
        { name: 'plain', dir: '/c' },
      ],
      (w) => warnings.push(w),
      root,
    );
    expect(kept.map((b) => b.name)).toEqual(['lib-a', 'plain']);
    expect(warnings).toEqual([expect.stringMatching(/^the baseline lib-b is not timed: absent is not installed .*`npm install absent` adds it/)]);
    expect(missingPackages(['present', 'absent'], root)).toEqual(['absent']);
  });

  it("p4's hnswlib-node baseline declares its package (installed here: the bench test times it)", async () => {
    const p4 = await findProject('p4');
    expect(p4.baselines?.find((b) => b.name === 'hnswlib-node')?.requires).toEqual(['hnswlib-node']);
    expect(missingPackages(['hnswlib-node'])).toEqual([]);
  });
});
