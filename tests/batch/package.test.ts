// The packages: the student bundle (unpacked and searched for the reference solution's code, the
// hidden cases and the secret, then run) and the Gradescope autograder zip (unpacked and its
// run_autograder run the way Gradescope runs it, on the reference solution, with hidden cases).
import { chmodSync, cpSync, existsSync, readFileSync, statSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { unpackArchive } from '../../harness/batch/unpack.ts';
import { walk } from '../helpers/files.ts';
import { HAVE_SANDBOX, ROOT } from '../helpers/run.ts';
import { mlsys, REFERENCE, tmpDir } from './helpers/class.ts';

const SECRET = 'package-test-secret-0123456789';


/** Lines of the reference solution that no other file of the repository has: its own code. */
function referenceCode(): string[] {
  const norm = (t: string) => t.split('\n').map((l) => l.trim()).filter((l) => l.length >= 30 && !l.startsWith('//') && !l.startsWith('*') && !l.startsWith('import'));
  const others = new Set([...walk(path.join(ROOT, 'projects')), ...walk(path.join(ROOT, 'harness'))].flatMap((f) => norm(readFileSync(f, 'utf8'))));
  return walk(path.join(ROOT, 'reference', 'p2')).flatMap((f) => norm(readFileSync(f, 'utf8'))).filter((l) => !others.has(l));
}

describe('mlsys package student', () => {
  const dir = tmpDir('student');
  const zip = path.join(dir, 'p2-student.zip');
  const unpacked = path.join(dir, 'unpacked');

  beforeAll(async () => {
    const r = await mlsys(['package', 'student', 'p2', '--out', zip], { MLSYS_HIDDEN_SECRET: SECRET });
    expect(r.exitCode, r.stderr).toBe(0);
    await unpackArchive(zip, unpacked);
  });

  it('leaves out the reference solution, the tests and the secret', () => {
    const files = walk(unpacked).map((f) => path.relative(path.join(unpacked, 'mlsys-p2'), f));
    expect(files).toContain('projects/p2/starter/index.ts');
    expect(files).toContain('projects/p2/oracle.ts');
    expect(files).toContain('harness/cli.ts');
    expect(files.filter((f) => /^(reference|tests|results|\.ci)\//.test(f) || f === 'course.json' || f === 'Dockerfile')).toEqual([]);
    const code = referenceCode();
    expect(code.length).toBeGreaterThan(20); // the search below is not vacuous
    for (const f of walk(unpacked)) {
      const text = readFileSync(f, 'utf8');
      expect(text.includes(SECRET), f).toBe(false);
      const lines = new Set(text.split('\n').map((l) => l.trim()));
      expect(code.filter((l) => lines.has(l)), f).toEqual([]);
    }
  });

  it('runs as a student would run it: the starter fails cleanly, no reference is timed', async () => {
    const root = path.join(unpacked, 'mlsys-p2');
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
    const r = await execa(process.execPath, ['bin/mlsys.js', 'test', 'p2', 'projects/p2/starter', '--task', 'attention', '--sandbox', 'off', '--json'], { cwd: root, reject: false, env: { XDG_RUNTIME_DIR: '/tmp' } });
    expect(r.exitCode, r.stderr).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run.cases.length).toBe(5); // attention's public cases
    expect(run.cases.every((c: { status: string; message: string }) => c.status === 'failed' && /not implemented/.test(c.message))).toBe(true);
  });

  it('has a README and npm scripts of its own, which work as written', async () => {
    const root = path.join(unpacked, 'mlsys-p2');
    if (!existsSync(path.join(root, 'node_modules'))) symlinkSync(path.join(ROOT, 'node_modules'), path.join(root, 'node_modules'));
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme).toMatch(/^# mlsys: Attention and KV caching \(p2\)/);
    expect(readme).toContain('npx mlsys test p2 projects/p2/mine');
    expect(readme).not.toMatch(/reference\/|MLSYS_HIDDEN_SECRET|--hidden/);
    // Every file the README links to is in the bundle.
    for (const [, link] of readme.matchAll(/\]\(([^)]+)\)/g)) expect(existsSync(path.join(root, link!)), link).toBe(true);
    // Its quick start: a copy of the starter beside it, then `npm test` tests that copy.
    cpSync(path.join(root, 'projects/p2/starter'), path.join(root, 'projects/p2/mine'), { recursive: true });
    const r = await execa('npm', ['test', '--', '--task', 'attention', '--sandbox', 'off'], { cwd: root, reject: false, env: { XDG_RUNTIME_DIR: '/tmp' } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/test of .*projects\/p2\/mine/);
    expect(r.stdout).toMatch(/attention +correctness 0\/2\.1 /);
  });

  it('has no hidden cases: --hidden is a usage error that says they are staff-only', async () => {
    const root = path.join(unpacked, 'mlsys-p2');
    const r = await execa(process.execPath, ['bin/mlsys.js', 'grade', 'p2', 'projects/p2/starter', '--hidden', '--sandbox', 'off'], {
      cwd: root,
      reject: false,
      env: { XDG_RUNTIME_DIR: '/tmp', MLSYS_HIDDEN_SECRET: 'a guess' },
    });
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/no hidden cases for p2 \(reference\/p2\/hidden-cases\.ts is staff-only/);
  });
});

describe('mlsys package gradescope', () => {
  const dir = tmpDir('gradescope');
  const zip = path.join(dir, 'p2-autograder.zip');
  const ag = path.join(dir, 'autograder');

  beforeAll(async () => {
    const r = await mlsys(['package', 'gradescope', 'p2', '--out', zip], { MLSYS_HIDDEN_SECRET: SECRET });
    expect(r.exitCode, r.stderr).toBe(0);
    await unpackArchive(zip, path.join(ag, 'source'));
  });

  it('holds setup.sh and run_autograder (executable), the harness, the reference and the secret', () => {
    const src = path.join(ag, 'source');
    for (const f of ['setup.sh', 'run_autograder']) {
      expect(statSync(path.join(src, f)).mode & 0o111, f).not.toBe(0);
      expect(readFileSync(path.join(src, f), 'utf8')).toMatch(/^#!\/usr\/bin\/env bash/);
    }
    expect(existsSync(path.join(src, 'reference', 'p2', 'index.ts'))).toBe(true);
    expect(existsSync(path.join(src, 'projects', 'p2', 'project.ts'))).toBe(true);
    expect(existsSync(path.join(src, 'tests'))).toBe(false);
    expect(readFileSync(path.join(src, 'secret'), 'utf8').trim()).toBe(SECRET);
    // The reference and the secret are made root-only when Gradescope builds the image.
    expect(readFileSync(path.join(src, 'setup.sh'), 'utf8')).toMatch(/chmod -R go-rwx \/autograder\/source\/reference/);
  });

  it('refuses to package hidden cases without the secret (exit 2)', async () => {
    const r = await mlsys(['package', 'gradescope', 'p2', '--out', path.join(dir, 'x.zip')], { MLSYS_HIDDEN_SECRET: '' });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/set MLSYS_HIDDEN_SECRET or pass --secret-file \(or --no-hidden\)/);
  });

  it.skipIf(!HAVE_SANDBOX)('run_autograder grades a submission, hidden cases included, into results/results.json', async () => {
    const src = path.join(ag, 'source');
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'));
    // What setup.sh does to /autograder: the sandboxed user may pass through, not read the reference.
    chmodSync(dir, 0o755);
    chmodSync(path.join(src, 'reference'), 0o700);
    chmodSync(path.join(src, 'secret'), 0o600);
    cpSync(REFERENCE, path.join(ag, 'submission', 'my-p2'), { recursive: true }); // zipped with its folder
    const r = await execa('bash', [path.join(src, 'run_autograder')], {
      reject: false,
      env: { AUTOGRADER_ROOT: ag, MLSYS_GRADE_ARGS: '--task attention --budget 0.5', MLSYS_HIDDEN_SECRET: '' },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    const results = JSON.parse(readFileSync(path.join(ag, 'results', 'results.json'), 'utf8'));
    expect(results.score).toBeGreaterThanOrEqual(2.1);
    const hidden = results.tests.find((t: { name: string }) => /hidden cases/.test(t.name));
    expect(hidden).toMatchObject({ visibility: 'after_due_date', status: 'passed' });
  });
});
