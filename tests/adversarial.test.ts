// Hostile submissions (tests/fixtures/adversarial/<name>/index.ts) against the engine, with and
// without the sandbox. Each must end with its own outcome and a clear message, leave the harness
// able to go on, and leave no process behind. See SECURITY.md for the threat model.
//
// Every run of this file starts its submissions' processes under a private temporary folder (the
// scratch folders are made in TMPDIR), so a process left behind by one of them can be told apart
// from those of other test files running at the same time: its command line, working folder or
// environment names that folder (bubblewrap's command line names the scratch folder it binds;
// the unsandboxed driver runs in it). A sandboxed process outlives its bubblewrap only if its
// PID namespace does, which the kernel does not allow.
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CaseRecord, PerfRecord } from '../harness/report/schema.ts';
import { BubblewrapLauncher, DEFAULT_LIMITS } from '../harness/runner/sandbox.ts';
import { FIXTURES, HAVE_SANDBOX, ROOT, run, type TestRunOptions } from './helpers/run.ts';

const ADV = path.join(FIXTURES, 'adversarial');
/** What the spawn-bomb fixture puts on the command line of everything it starts. */
const BOMB_MARKER = '86399.4242';

let base = '';
let previousTmpdir: string | undefined;

beforeAll(() => {
  base = mkdtempSync(path.join(os.tmpdir(), 'mlsys-adversarial-'));
  chmodSync(base, 0o755); // the sandbox's user must reach the scratch folders made inside it
  previousTmpdir = process.env.TMPDIR;
  process.env.TMPDIR = base;
});

afterAll(() => {
  if (previousTmpdir === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previousTmpdir;
  rmSync(base, { recursive: true, force: true });
});

/** Runs fixture `name` (or a prepared folder) on the attention task. */
function attack(nameOrDir: string, o: TestRunOptions = {}) {
  const dir = path.isAbsolute(nameOrDir) ? nameOrDir : path.join(ADV, nameOrDir);
  return run('p2', dir, { tasks: ['attention'], timeoutScale: 0.15, ...o });
}

/** A copy of a fixture with extra files beside its index.ts (ports, paths it will try). */
function prepared(name: string, files: Record<string, unknown>): string {
  const dir = mkdtempSync(path.join(base, `${name}-`));
  cpSync(path.join(ADV, name), dir, { recursive: true });
  for (const [f, v] of Object.entries(files)) writeFileSync(path.join(dir, f), JSON.stringify(v));
  chmodSync(dir, 0o755);
  return dir;
}

/** A folder (mode 0777/0666, so only the sandbox can keep a submission out) with one file. */
function victimFolder(name: string, file: string, text: string): string {
  const dir = path.join(base, name);
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o777);
  writeFileSync(path.join(dir, file), text);
  chmodSync(path.join(dir, file), 0o666);
  return path.join(dir, file);
}

function byId(cases: CaseRecord[]): Record<string, CaseRecord> {
  return Object.fromEntries(cases.map((c) => [c.id, c]));
}

function expectOthersPass(cases: CaseRecord[], except: string): void {
  const rest = cases.filter((c) => c.id !== except);
  expect(rest.length).toBeGreaterThan(0);
  for (const c of rest) expect({ id: c.id, status: c.status, message: c.message }).toMatchObject({ status: 'passed' });
}

/** Live (not zombie) processes whose command line, working folder or environment contains a needle. */
function processesMatching(needles: string[]): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state === 'Z' || state === 'X') continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      let cwd = '';
      let env = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
        env = readFileSync(`/proc/${pid}/environ`, 'utf8');
      } catch {
        /* not readable: judged by its command line */
      }
      if (needles.some((n) => cmd.includes(n) || cwd.includes(n) || env.includes(n))) found.push(`${pid} [${state}] ${cmd.slice(0, 160)}`);
    } catch {
      /* ended while we looked */
    }
  }
  return found;
}

/** Nothing started by this file's runs is still alive (processes may take a moment to die). */
async function expectNoSurvivors(extra: string[] = []): Promise<void> {
  const needles = [base, ...extra];
  let left = processesMatching(needles);
  for (let i = 0; i < 50 && left.length; i++) {
    await new Promise((r) => setTimeout(r, 100));
    left = processesMatching(needles);
  }
  expect(left).toEqual([]);
}

const submissionPerf = (perf: PerfRecord[]) => perf.find((p) => p.task === 'attention')!.impls.find((i) => i.impl === 'submission')!;

describe('submissions that never answer', () => {
  it('an endless loop at import fails to load within the load timeout', async () => {
    // The load timeout is 60 s x timeoutScale.
    const { run: r, exitCode } = await attack('loop-at-import', { caseId: 'attention/0', timeoutScale: 0.1 });
    expect(exitCode).toBe(3);
    expect(r.status).toBe('load_failed');
    expect(r.cases[0]).toMatchObject({ kind: 'load_error', status: 'failed' });
    expect(r.cases[0]!.message).toMatch(/while loading your code: no answer within 6\.0 s/);
    await expectNoSurvivors();
  });

  it('a flood of well-formed messages that are not the reply cannot hold a call open past its limit', async () => {
    const t0 = performance.now();
    const { run: r } = await attack('phase-flood');
    expect(byId(r.cases)['attention/0']).toMatchObject({ status: 'failed', kind: 'timeout' });
    expectOthersPass(r.cases, 'attention/0');
    expect(performance.now() - t0).toBeLessThan(60_000); // the flood never stops: the limit ends it
    await expectNoSurvivors();
  });

  it('an endless loop in attention times that case out; the next case runs on a fresh process', async () => {
    const { run: r } = await attack('loop-in-attention');
    const c = byId(r.cases);
    expect(c['attention/0']).toMatchObject({ status: 'failed', kind: 'timeout' });
    expect(c['attention/0']!.message).toMatch(/timed out: no answer within 3\.0 s \(the process was killed\)/);
    expectOthersPass(r.cases, 'attention/0');
    // The fixture prints a random id when it loads: two processes, two ids.
    const ids = new Set(r.output.stdout.match(/instance \w+/g));
    expect(ids.size).toBe(2);
    await expectNoSurvivors();
  });
});

describe('submissions that die', () => {
  it('process.exit(0) in the middle of a case fails it as an exit, not as a pass', async () => {
    const { run: r } = await attack('exit-mid-case');
    const c = byId(r.cases)['attention/0']!;
    expect(c).toMatchObject({ status: 'failed', kind: 'exit' });
    expect(c.message).toMatch(/exited \(code 0\) in the middle of the case: do not call process\.exit/);
    expectOthersPass(r.cases, 'attention/0');
    await expectNoSurvivors();
  });

  it('killing itself with SIGSEGV is a crash', async () => {
    const { run: r } = await attack('segfault');
    const c = byId(r.cases)['attention/0']!;
    expect(c).toMatchObject({ status: 'failed', kind: 'crash' });
    expect(c.message).toMatch(/crashed \(SIGSEGV\)/);
    expectOthersPass(r.cases, 'attention/0');
    await expectNoSurvivors();
  });

  it('filling the JavaScript heap is out_of_memory (the heap limit, not the machine, stops it)', async () => {
    // Filling a 4 GiB heap takes several seconds: 30 s for the case.
    const { run: r } = await attack('oom-heap', { timeoutScale: 1.5 });
    const c = byId(r.cases)['attention/0']!;
    expect(c).toMatchObject({ status: 'failed', kind: 'out_of_memory' });
    expect(c.message).toMatch(/ran out of memory/);
    expect(r.output.stderr).toMatch(/heap out of memory/);
    expectOthersPass(r.cases, 'attention/0');
    await expectNoSurvivors();
  });

  it('garbage written on the reply channel (fd 4) fails that case as a protocol fault', async () => {
    const { run: r, exitCode } = await attack('protocol-garbage');
    expect(exitCode).toBe(0);
    expect(r.status).toBe('complete');
    const c = byId(r.cases)['attention/0']!;
    expect(c).toMatchObject({ status: 'failed', kind: 'protocol' });
    expect(c.message).toMatch(/malformed message on the harness's channel/);
    expectOthersPass(r.cases, 'attention/0');
    await expectNoSurvivors();
  });
});

describe('outputs that are not answers', () => {
  it('a wrong shape, NaN, an object with valueOf and a tensor look-alike with a throwing getter each fail with their own message', async () => {
    const { run: r } = await attack('bad-outputs');
    const c = byId(r.cases);
    expect(c['attention/0']).toMatchObject({ kind: 'wrong_output' });
    expect(c['attention/0']!.message).toMatch(/output 'out' has shape \[1, 2, 16, 15\], expected \[1, 2, 16, 16\]/);
    expect(c['attention/1']).toMatchObject({ kind: 'wrong_output' });
    expect(c['attention/1']!.message).toMatch(/output 'out' has NaN at index \[0, 0, 0, 0\]/);
    expect(c['attention/2']).toMatchObject({ kind: 'bad_output' });
    expect(c['attention/2']!.message).toMatch(/attention\(\.\.\.\) must be a tf\.Tensor, got an object \(valueOf, toString\)/);
    // The getter is the submission's own code throwing while the harness reads its output.
    expect(['bad_output', 'exception']).toContain(c['attention/3']!.kind);
    expect(c['attention/3']!.message).toMatch(/the dtype getter exploded/);
    for (const x of r.cases) expect(x.status).toBe('failed');
    await expectNoSurvivors();
  });

  it('printing 100 MB costs the harness a bounded amount: the output kept is capped and says what it dropped', async () => {
    const { run: r } = await attack('output-flood', { timeoutScale: 0.5 });
    for (const x of r.cases) expect({ id: x.id, status: x.status }).toMatchObject({ status: 'passed' });
    const out = r.output.stdout;
    expect(out.length).toBeLessThan(1 << 20);
    expect(out.startsWith('--- case attention/0 ---\nFLOOD START\n')).toBe(true); // under the case's name
    expect(out).toMatch(/\[\.\.\. \d{9} bytes of output dropped \.\.\.\]/);
    expect(out).toContain('FLOOD END\n');
    await expectNoSurvivors();
  });
});

describe('cheating the measurement', () => {
  it('replacing performance.now, Date.now and process.hrtime does not change the measured times', async () => {
    const { run: r } = await attack('clock-tamper', { mode: 'grade' });
    for (const x of r.cases) {
      expect({ id: x.id, status: x.status }).toMatchObject({ status: 'passed' });
      expect(x.ms).toBeGreaterThan(0);
    }
    const perf = r.perf.find((p) => p.task === 'attention')!;
    const sub = submissionPerf(r.perf);
    expect(sub.ok).toBe(true);
    expect(sub.summary!.median).toBeGreaterThan(0);
    expect(sub.samples_ms.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(sub.wall_ms * 1.05 + 1);
    // The same algorithm as the reference: a frozen clock would have made it look infinitely fast.
    expect(perf.speedup_vs_reference).toBeGreaterThan(0.1);
    expect(perf.speedup_vs_reference).toBeLessThan(10);
    await expectNoSurvivors();
  });

  it('replacing the global Number does not slow the harness clock (it captured Number at load)', async () => {
    const { run: r } = await attack('clock-number', { mode: 'grade' });
    expect(r.cases.every((x) => x.status === 'passed')).toBe(true);
    const perf = r.perf.find((p) => p.task === 'attention')!;
    expect(submissionPerf(r.perf).ok).toBe(true);
    // The same algorithm as the reference: with the clock slowed 3x it would look about 3x faster.
    expect(perf.speedup_vs_reference).toBeGreaterThan(0.4);
    expect(perf.speedup_vs_reference).toBeLessThan(2);
    await expectNoSurvivors();
  });

  it('returning the first answer for every later call fails the timed runs (their inputs rotate)', async () => {
    const { run: r } = await attack('memoize', { mode: 'bench' });
    const sub = submissionPerf(r.perf);
    expect(sub.ok).toBe(false);
    expect(sub.message).toMatch(/a timed call \(repetition \d+\) gave a wrong answer/);
    expect(r.perf[0]!.speedup_vs_reference).toBeNull();
    expect(r.perf[0]!.impls.find((i) => i.impl === 'reference')!.ok).toBe(true);
    await expectNoSurvivors();
  });

  it('answering correctly only while it guesses it is being checked passes the cases but earns no speed credit', async () => {
    const { run: r } = await attack('timing-mode', { mode: 'grade' });
    for (const x of r.cases) expect({ id: x.id, status: x.status }).toMatchObject({ status: 'passed' });
    const sub = submissionPerf(r.perf);
    expect(sub.ok).toBe(false);
    expect(sub.message).toMatch(/gave a wrong answer/);
    const score = r.score!.tasks.find((t) => t.task === 'attention')!;
    expect(score.performance).toBe(0);
    expect(score.note).toMatch(/speed not credited: submission: a timed call/);
    await expectNoSurvivors();
  });
});

/** A TCP server on 127.0.0.1 that counts the connections it gets. */
async function countingServer(): Promise<{ server: Server; port: number; connections: () => number }> {
  let n = 0;
  const server = createServer((s) => {
    n++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { server, port, connections: () => n };
}

interface Probes {
  readDir: string;
  writeDir: string;
  resultsName: string;
  outDir: string;
  other: string;
  hidden: string;
}

const PACKAGE_REFUSED = /the harness does not provide the package '(zod|commander)' to submissions of this project \(it provides '@tensorflow\/tfjs', '@tensorflow\/tfjs-core'; Node's built-in modules such as 'node:fs' are fine\)/;

/**
 * The import-oracle and require-oracle fixtures (an ESM import, a CommonJS require) fail every
 * case with the refusal's message, as a load error; so do the fixtures that import a package
 * installed beside the harness but not provided to submissions (by name, by require(), by path).
 */
async function expectOracleImportRefused(sandbox: boolean): Promise<void> {
  const refusals: [string, RegExp][] = [
    ['import-oracle', /projects\/p2\/oracle\.ts, which is the grader's: .*a submission may not import it/],
    ['require-oracle', /projects\/p2\/oracle\.ts, which is the grader's: .*a submission may not import it/],
    ['import-package', PACKAGE_REFUSED],
    ['require-package', PACKAGE_REFUSED],
    ['import-package-path', PACKAGE_REFUSED],
    ['import-package-data', PACKAGE_REFUSED],
  ];
  for (const [fixture, why] of refusals) {
    const { run: r } = await attack(fixture, { sandbox });
    expect(r.cases.length).toBeGreaterThan(1);
    for (const c of r.cases) {
      expect(c, fixture).toMatchObject({ status: 'failed', kind: 'load_error' });
      expect(c.message, fixture).toMatch(why);
    }
  }
  await expectNoSurvivors();
}

function probes(tag: string): Probes {
  const other = victimFolder(`other-submission-${tag}`, 'index.ts', 'export const SECRET = "another student";\n');
  const hidden = victimFolder(`hidden-${tag}`, 'cases.json', '{"secret": "hidden cases"}\n');
  const outDir = path.join(base, `out-${tag}`);
  mkdirSync(outDir);
  chmodSync(outDir, 0o777);
  const resultsName = `adversarial-probe-${path.basename(base)}-${tag}.txt`;
  return {
    readDir: prepared('read-secrets', { 'targets.json': { otherSubmission: other, hiddenData: hidden } }),
    writeDir: prepared('write-outside', { 'targets.json': { resultsName, runOutDir: outDir, otherSubmissionFile: other } }),
    resultsName,
    outDir,
    other,
    hidden,
  };
}

describe.skipIf(!HAVE_SANDBOX)('under the sandbox', () => {
  const sandbox = true;

  it('an endless loop in attention is killed at the timeout, bubblewrap and all', async () => {
    const { run: r } = await attack('loop-in-attention', { sandbox });
    expect(byId(r.cases)['attention/0']).toMatchObject({ status: 'failed', kind: 'timeout' });
    expectOthersPass(r.cases, 'attention/0');
    await expectNoSurvivors();
  });

  it('SIGSEGV is still a crash (bubblewrap reports it as exit code 139)', async () => {
    const { run: r } = await attack('segfault', { sandbox });
    const c = byId(r.cases)['attention/0']!;
    expect(c).toMatchObject({ status: 'failed', kind: 'crash' });
    expect(c.message).toMatch(/crashed \(SIGSEGV\)/);
    expectOthersPass(r.cases, 'attention/0');
    await expectNoSurvivors();
  });

  it('reserving ArrayBuffers until the address-space limit is out_of_memory; the next case gets a fresh process', async () => {
    const { run: r } = await attack('oom-arraybuffer', { sandbox });
    const c = byId(r.cases)['attention/0']!;
    expect(c).toMatchObject({ status: 'failed', kind: 'out_of_memory' });
    expect(c.message).toMatch(/ran out of memory: RangeError: Array buffer allocation failed/);
    expectOthersPass(r.cases, 'attention/0');
    await expectNoSurvivors();
  });

  it('a fork and spawn bomb stops at the process limit and dies with the sandbox; the next sandboxed run is unharmed', async () => {
    // The process limit counts every process and thread of the sandbox's user, in every sandbox:
    // a lower limit for the bomb leaves room for sandboxes that other test files may be running.
    const launcher = new BubblewrapLauncher({ ...DEFAULT_LIMITS, processes: 128 });
    const { run: r } = await attack('spawn-bomb', { sandbox, launcher, caseId: 'attention/0' });
    const c = r.cases[0]!;
    expect(c).toMatchObject({ status: 'failed', kind: 'exception' });
    expect(c.message).toMatch(/SPAWN BOMB: started \d+ sleepers, refused: EAGAIN x1/);
    await expectNoSurvivors([BOMB_MARKER]);
    const after = await run('p2', path.join(ROOT, 'reference/p2'), { tasks: ['attention'], timeoutScale: 0.15, sandbox });
    for (const x of after.run.cases) expect({ id: x.id, status: x.status }).toMatchObject({ status: 'passed' });
    await expectNoSurvivors();
  });

  it('cannot connect to a server on 127.0.0.1 nor resolve a name', async () => {
    const { server, port, connections } = await countingServer();
    try {
      const dir = prepared('network', { 'port.json': { port } });
      const { run: r } = await attack(dir, { sandbox, caseId: 'attention/0' });
      const msg = r.cases[0]!.message;
      expect(msg).toMatch(/CONNECT FAILED: \w+/);
      expect(msg).toMatch(/DNS FAILED: \w+/);
      expect(connections()).toBe(0);
    } finally {
      server.close();
    }
    await expectNoSurvivors();
  });

  it('cannot read the reference solution, the hidden cases, the oracle, another submission, hidden data or the harness environment', async () => {
    const p = probes('sandboxed');
    const { run: r } = await attack(p.readDir, { sandbox, caseId: 'attention/0' });
    const msg = r.cases[0]!.message;
    expect(msg).toMatch(/reference: READ FAILED: E[A-Z]+/);
    expect(msg).toMatch(/hidden case specs: READ FAILED: E[A-Z]+/);
    expect(msg).toMatch(/oracle: READ FAILED: E[A-Z]+/);
    expect(msg).toMatch(/other submission: READ FAILED: E[A-Z]+/);
    expect(msg).toMatch(/hidden data: READ FAILED: E[A-Z]+/);
    // Its parent inside the sandbox is bubblewrap's init, started with an empty environment.
    expect(msg).toMatch(/parent environment: (READ FAILED|READ OK \(0 chars)/);
    expect(msg).not.toMatch(/Reference solution|another student|hidden cases/);
    await expectNoSurvivors();
  });

  it("cannot import or require the project's oracle, nor a package it is not provided: refused, saying why", async () => {
    await expectOracleImportRefused(true);
  });

  it('cannot write into results/, the run output folder, another submission or its own code', async () => {
    const p = probes('sandboxed-w');
    const ownEntry = path.join(p.writeDir, 'index.ts');
    const ownBefore = readFileSync(ownEntry, 'utf8');
    const { run: r } = await attack(p.writeDir, { sandbox, caseId: 'attention/0', outDir: p.outDir });
    const msg = r.cases[0]!.message;
    for (const label of ['results/', 'run output', 'other submission', 'own entry']) expect(msg).toContain(`${label}: WRITE FAILED: E`);
    expect(existsSync(path.join(ROOT, 'results', p.resultsName))).toBe(false);
    expect(existsSync(path.join(p.outDir, 'results.json'))).toBe(false);
    expect(readFileSync(p.other, 'utf8')).toBe('export const SECRET = "another student";\n');
    expect(readFileSync(ownEntry, 'utf8')).toBe(ownBefore);
    // What is in the output folder is the harness's record of the run.
    const saved = JSON.parse(readFileSync(path.join(p.outDir, 'run.json'), 'utf8')) as { cases: CaseRecord[] };
    expect(saved.cases[0]!.message).toContain('WRITE FAILED');
    await expectNoSurvivors();
  });
});

// The same probes without the sandbox: they show that the fixtures really try (so the sandboxed
// tests above fail for the right reason), and what an unsandboxed run exposes.
describe('without the sandbox (a student on their own machine)', () => {
  it('the network probe connects', async () => {
    const { server, port, connections } = await countingServer();
    try {
      const dir = prepared('network', { 'port.json': { port } });
      const { run: r } = await attack(dir, { caseId: 'attention/0' });
      expect(r.cases[0]!.message).toMatch(/CONNECT OK/);
      expect(r.warnings.join(' ')).toMatch(/WITHOUT a sandbox/);
      for (let i = 0; i < 20 && connections() === 0; i++) await new Promise((res) => setTimeout(res, 50));
      expect(connections()).toBeGreaterThan(0);
    } finally {
      server.close();
    }
    await expectNoSurvivors();
  });

  it("importing or requiring the project's oracle, or a package it is not provided, is refused here too", async () => {
    await expectOracleImportRefused(false);
  });

  it('the read and write probes succeed', async () => {
    const p = probes('plain');
    const forged = path.join(ROOT, 'results', p.resultsName);
    try {
      const read = await attack(p.readDir, { caseId: 'attention/0' });
      expect(read.run.cases[0]!.message).toMatch(/reference: READ OK .*hidden case specs: READ OK .*oracle: READ OK .*other submission: READ OK .*hidden data: READ OK/);
      const write = await attack(p.writeDir, { caseId: 'attention/0', outDir: p.outDir });
      expect(write.run.cases[0]!.message).toMatch(/results\/: WRITE OK \| run output: WRITE OK \| other submission: WRITE OK/);
      expect(existsSync(forged)).toBe(true);
      // Its own entry is a private copy: the folder it was given is untouched.
      expect(readFileSync(path.join(p.writeDir, 'index.ts'), 'utf8')).toMatch(/^\/\/ Tries to write/);
    } finally {
      rmSync(forged, { force: true });
    }
    await expectNoSurvivors();
  });
});

// Guards against a fixture folder being renamed without its test.
it('every adversarial fixture is exercised by this file', () => {
  const src = readFileSync(new URL(import.meta.url), 'utf8');
  const names = readdirSync(ADV).filter((n) => statSync(path.join(ADV, n)).isDirectory());
  for (const n of names) expect(src, n).toContain(`'${n}'`);
});
