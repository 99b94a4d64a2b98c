// The cluster image cannot be built here (no Docker engine): the Dockerfile is linted, and checked
// against the CI install script and the batch job script it has to agree with.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { IMAGE_ROOT } from '../../harness/batch/jobscript.ts';
import { ROOT } from '../helpers/run.ts';
import { tmpDir } from './helpers/class.ts';

const LINT = path.join(ROOT, 'node_modules', 'dockerfilelint', 'bin', 'dockerfilelint');
const lint = (file: string) => execa(process.execPath, [LINT, '-j', file], { reject: false });
const dockerfile = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');

/** Packages that CI needs for its own tests only, not the cluster. */
const CI_ONLY = new Set<string>(['chromium']);

describe('Dockerfile', () => {
  it('passes dockerfilelint', async () => {
    const r = await lint(path.join(ROOT, 'Dockerfile'));
    const report = JSON.parse(r.stdout);
    expect(report.files[0].issues).toEqual([]);
    expect(r.exitCode).toBe(0);
  });

  it('is linted for real: a careless Dockerfile fails', async () => {
    const bad = path.join(tmpDir('docker'), 'Dockerfile');
    writeFileSync(bad, 'FROM ubuntu\nRUN apt-get update && apt-get install curl\n');
    const r = await lint(bad);
    expect(r.exitCode).not.toBe(0);
    expect(JSON.parse(r.stdout).totalIssues).toBeGreaterThan(0);
  });

  it("installs every system package of CI's setup script, Node 20, and nvcc", () => {
    const setup = readFileSync(path.join(ROOT, '.ci', 'setup-system.sh'), 'utf8');
    const pkgs = [...setup.matchAll(/apt-get install ([^\n]+)/g)].flatMap((m) => m[1].split(/\s+/).filter((w) => w && !w.startsWith('-') && !w.startsWith('$') && w !== 'bookworm-backports'));
    expect(pkgs.length).toBeGreaterThan(0);
    for (const p of pkgs.filter((x) => !CI_ONLY.has(x))) expect(dockerfile, `Dockerfile lacks ${p}`).toMatch(new RegExp(`(?<![\\w.+-])${p.replace(/[.+]/g, '\\$&')}(?![\\w.+-])`));
    expect(dockerfile).toMatch(/^FROM node:20-bookworm/m);
    expect(dockerfile).toMatch(/cuda-nvcc-/);
    expect(dockerfile).toMatch(/NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics/);
  });

  it('puts the harness where the batch job script looks for it, and copies only what exists', () => {
    expect(dockerfile).toMatch(new RegExp(`^WORKDIR ${IMAGE_ROOT}$`, 'm'));
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const m of dockerfile.matchAll(/^COPY (.+) \S+$/gm))
      for (const src of m[1].split(/\s+/)) {
        expect(existsSync(path.join(ROOT, src)), `COPY ${src}`).toBe(true);
        expect(ignored, `.dockerignore drops ${src}`).not.toContain(src);
      }
  });
});
