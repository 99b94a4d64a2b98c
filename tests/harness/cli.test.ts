// The command line contract: exit codes, --json, and the files it writes.
import { execa } from 'execa';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURES, ROOT, tmpOut } from '../helpers/run.ts';

const BIN = path.join(ROOT, 'bin', 'mlsys.js');
const mlsys = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, [BIN, ...args], { cwd: ROOT, reject: false, env: { XDG_RUNTIME_DIR: '/tmp', ...env } });

describe('mlsys CLI', () => {
  it('exits 2 on bad usage, with a message that says what is wrong', async () => {
    const unknown = await mlsys(['test', 'p9', 'reference/p2']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/unknown project 'p9'/);
    const missing = await mlsys(['test', 'p2', '/no/such/folder']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/submission folder not found/);
    const file = await mlsys(['test', 'p2', 'reference/p2/index.ts']);
    expect(file.exitCode).toBe(2);
    expect(file.stderr).toMatch(/reference\/p2\/index\.ts is a file: give the folder that holds your submission \(reference\/p2\)/);
    const badTask = await mlsys(['test', 'p2', 'reference/p2', '--task', 'nope']);
    expect(badTask.exitCode).toBe(2);
    expect(badTask.stderr).toMatch(/unknown task 'nope'/);
    const typo = await mlsys(['test', 'p2', 'reference/p2', '--case', 'Attention/1']);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toMatch(/no case 'Attention\/1': did you mean 'attention\/1'\?/);
    const task = await mlsys(['test', 'p2', 'reference/p2', '--case', 'generate']);
    expect(task.exitCode).toBe(2);
    expect(task.stderr).toMatch(/'generate' is a task: --task generate runs all its cases/);
    // A choice that would leave nothing to run says so (it used to run nothing and exit 0).
    const outside = await mlsys(['test', 'p1', 'reference/p1', '--milestone', 'checkin', '--task', 'dataParallel']);
    expect(outside.exitCode).toBe(2);
    expect(outside.stderr).toMatch(/dataParallel is not in milestone 'checkin' \(its tasks: allReduce, [^)]*\): leave out --milestone to run it/);
    const notChosen = await mlsys(['test', 'p2', 'reference/p2', '--task', 'generate', '--case', 'attention/1']);
    expect(notChosen.exitCode).toBe(2);
    expect(notChosen.stderr).toMatch(/case 'attention\/1' is not in the tasks chosen \(generate\): leave out --task/);
    const hidden = await mlsys(['grade', 'p2', 'reference/p2', '--hidden', '--sandbox', 'off'], { MLSYS_HIDDEN_SECRET: '' });
    expect(hidden.exitCode).toBe(2);
    expect(hidden.stderr).toMatch(/--hidden needs the grader secret/);
  });

  it('without a submission folder, says it runs the starter', async () => {
    const r = await mlsys(['test', 'p2', '--task', 'attention', '--sandbox', 'off', '--out', tmpOut()]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/no submission folder given: running the starter \(projects\/p2\/starter\)/);
  });

  it('accepts project aliases and prints only JSON with --json', async () => {
    const r = await mlsys(['test', 'attention', 'reference/p2', '--task', 'attention', '--json', '--sandbox', 'off', '--out', tmpOut()]);
    expect(r.exitCode).toBe(0);
    const run = JSON.parse(r.stdout);
    expect(run.project).toBe('p2');
    expect(run.cases.every((c: { status: string }) => c.status === 'passed')).toBe(true);
  });

  it("shows what the submission printed, and a re-run command that works when pasted (npx, the path quoted)", async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'mlsys-cli-')), "my p2's");
    cpSync(path.join(FIXTURES, 'p2-prints'), dir, { recursive: true });
    const r = await mlsys(['test', 'p2', dir, '--task', 'attention', '--sandbox', 'off', '--timeout-scale', '2', '--out', tmpOut()]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('What your code printed');
    // What the failing cases printed (the causal ones), each under its name; not the passing one's.
    expect(r.stdout).toMatch(/stdout, in the failing cases \(the last 8 lines of the first 3 of the 4 that printed\):\n {4}\| --- case attention\/1 ---\n {4}\| debug: q shape 1x2x16x16\n/);
    expect(r.stdout).toMatch(/stderr, in the failing cases [^\n]*:\n {4}\| --- case attention\/1 ---\n {4}\| debug on stderr: causal=true\n {4}\| --- case attention\/2 ---\n/);
    expect(r.stdout).not.toMatch(/\| --- case attention\/0 ---/);
    expect(r.stdout).not.toMatch(/artificially reduced/); // the runtime's own lines are left out
    expect(r.stdout).toContain('| ?[2Jscreen cleared?');
    expect(r.stdout).not.toContain('\x1b');
    // The re-run keeps the run's time limits.
    const hint = /re-run just this case: npx mlsys test p2 (.+) --case attention\/1 --timeout-scale 2\n/.exec(r.stdout);
    expect(hint).not.toBeNull();
    // Pasted into a shell, the quoted path is the folder again.
    const echoed = await execa('bash', ['-c', `printf '%s' ${hint![1]}`]);
    expect(echoed.stdout).toBe(dir);
  });

  it('run from inside the submission folder, writes its results outside it (they would be handed in with the code)', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mlsys-inside-'));
    cpSync(path.join(ROOT, 'projects', 'p2', 'starter'), dir, { recursive: true });
    const r = await execa(process.execPath, [BIN, 'test', 'p2', '.', '--case', 'attention/0', '--sandbox', 'off'], { cwd: dir, reject: false, env: { XDG_RUNTIME_DIR: '/tmp' } });
    expect(r.exitCode).toBe(0);
    expect(existsSync(path.join(dir, 'results'))).toBe(false);
    const out = /^results: (.+)$/m.exec(r.stdout)![1]!;
    expect(out.startsWith(path.join(ROOT, 'results') + path.sep)).toBe(true);
    rmSync(out, { recursive: true, force: true });
  });

  it('exits 3 when the submission cannot be loaded, and still writes a zero-score results.json', async () => {
    const out = tmpOut();
    const r = await mlsys(['grade', 'p2', path.join(FIXTURES, 'p2-syntax-error'), '--task', 'attention', '--sandbox', 'off', '--out', out]);
    expect(r.exitCode).toBe(3);
    const results = JSON.parse(readFileSync(path.join(out, 'results.json'), 'utf8'));
    expect(results.score).toBe(0);
    expect(results.output).toMatch(/could not be loaded/);
    expect(existsSync(path.join(out, 'run.json'))).toBe(true);
  });

  it('exits 4 (not gradable) when grading requires the sandbox and bubblewrap is missing', async () => {
    // A PATH with nothing on it: bwrap cannot be found.
    const empty = mkdtempSync(path.join(os.tmpdir(), 'mlsys-empty-path-'));
    const out = tmpOut();
    const r = await mlsys(['grade', 'p2', 'reference/p2', '--out', out], { PATH: empty });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/not gradable: --sandbox required, but bubblewrap \(bwrap\) is not installed: apt-get install bubblewrap/);
    expect(existsSync(path.join(out, 'results.json'))).toBe(false);
  });

  it('doctor --json reports the backends that load and what is missing', async () => {
    const r = await mlsys(['doctor', '--json']);
    expect(r.exitCode).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.backends.cpu.ok).toBe(true);
    expect(d.backends.wasm.ok).toBe(true);
    expect(Array.isArray(d.missing)).toBe(true);
    expect(typeof d.sandbox.ok).toBe('boolean');
    // Dawn's own warnings (printed from native code as it opens an adapter) are left out.
    expect(r.stderr).not.toMatch(/artificially reduced/);
  });
});
