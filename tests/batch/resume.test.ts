// Nothing is lost when the grader itself dies: a batch killed mid-run and resumed does not grade
// finished submissions again, stops the grading it left behind, and finishes the rest. And a
// machine fault (no sandbox on the node) is retried, then "not gradable", never a zero.
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HAVE_SANDBOX, ROOT } from '../helpers/run.ts';
import { addFolder, mlsys, REFERENCE, SLOW, STARTER, tmpDir } from './helpers/class.ts';

const QUICK = ['--task', 'attention', '--sandbox', 'auto', '--budget', '0.5'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function state(out: string, prefix: string) {
  if (!existsSync(path.join(out, 'subs'))) return null;
  const dir = readdirSync(path.join(out, 'subs')).find((k) => k.startsWith(prefix));
  if (!dir) return null;
  const f = path.join(out, 'subs', dir, 'state.json');
  return existsSync(f) ? { dir: path.join(out, 'subs', dir), ...JSON.parse(readFileSync(f, 'utf8')) } : null;
}

async function until(what: string, f: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A node without bubblewrap: every grade with --sandbox required exits 4. A PATH with only the job script's tools. */
async function pathWithoutBubblewrap(): Promise<string> {
  const bin = tmpDir('path');
  for (const tool of ['bash', 'awk', 'mkdir', 'rm', 'hostname', 'date', 'mv', 'cat']) {
    const where = (await execa('bash', ['-c', `command -v ${tool}`])).stdout.trim();
    symlinkSync(where, path.join(bin, tool));
  }
  return bin;
}

describe('mlsys batch --resume', () => {
  it('after the grader is killed, grades only what was not finished', async () => {
    const subs = tmpDir('class');
    addFolder(subs, 'a-first', REFERENCE);
    addFolder(subs, 'b-slow', SLOW);
    addFolder(subs, 'c-last', STARTER);
    const out = path.join(tmpDir('batch'), 'p2');
    const first = mlsys(['batch', 'p2', subs, '--out', out, '--concurrency', '1', ...QUICK]);
    // Let the first submission finish and the slow one start, then kill the grader outright.
    await until('the first submission to be graded and the second to start', () => state(out, 'a-first')?.status === 'graded' && existsSync(path.join(out, 'pids', '1')));
    // run.json is written after each case: the slow one is a case in.
    await until('the slow submission to finish a case', () => existsSync(path.join(state(out, 'b-slow')!.dir, 'result', 'run.json')));
    first.kill('SIGKILL');
    await first;
    const orphan = Number(readFileSync(path.join(out, 'pids', '1'), 'utf8').split(' ')[0]);
    expect(alive(orphan)).toBe(true); // its grading is still going
    const a = state(out, 'a-first')!;
    const aResults = statSync(path.join(a.dir, 'result', 'results.json')).mtimeMs;
    expect(state(out, 'b-slow')!.status).toBe('running');
    expect(state(out, 'c-last')!.status).toBe('running'); // submitted, waiting in the pool

    const second = await mlsys(['batch', 'p2', subs, '--out', out, '--concurrency', '1', '--resume', ...QUICK]);
    expect(second.exitCode).toBe(0);
    expect(alive(orphan)).toBe(false); // stopped before the submission was graded again
    const a2 = state(out, 'a-first')!;
    expect(a2.attempts).toHaveLength(1);
    expect(statSync(path.join(a.dir, 'result', 'results.json')).mtimeMs).toBe(aResults);
    const b = state(out, 'b-slow')!;
    expect(b.status).toBe('graded');
    expect(b.attempts.map((x: { outcome: string; counted: boolean }) => [x.outcome, x.counted])).toEqual([
      ['interrupted: the batch was stopped before it finished', false],
      ['exit 0', true],
    ]);
    // The second attempt kept the cases the first one finished (mlsys grade --resume).
    const log = readFileSync(path.join(b.dir, 'grade.log'), 'utf8').split('=== job');
    expect(log.length).toBe(3);
    expect((log[2].match(/^\[\d+\/4\]/gm) ?? []).length).toBeLessThan(4);
    expect(state(out, 'c-last')!.status).toBe('graded');
    expect(second.stderr).toMatch(/batch finished: 3 submission\(s\): 3 graded/);
  });

  it('Ctrl-C stops the gradings and says how to continue; what waited for a slot shows as queued', async () => {
    const subs = tmpDir('class');
    addFolder(subs, 'a-slow', SLOW);
    addFolder(subs, 'b-waiting', STARTER);
    const out = path.join(tmpDir('batch'), 'p2');
    const batch = mlsys(['batch', 'p2', subs, '--out', out, '--concurrency', '1', ...QUICK]);
    const summary = () => (existsSync(path.join(out, 'summary.csv')) ? readFileSync(path.join(out, 'summary.csv'), 'utf8') : '');
    await until('the slow one to run while the other waits', () => /,a-slow,[^,]*,running,/.test(summary()) && /,b-waiting,[^,]*,queued,/.test(summary()));
    const grading = Number(readFileSync(path.join(out, 'pids', '0'), 'utf8').split(' ')[0]);
    batch.kill('SIGINT');
    const r = await batch;
    expect(r.exitCode).toBe(130);
    expect(r.stderr).toMatch(/SIGINT: stopping the gradings in progress; continue with:\n  mlsys batch p2 \S+ --out \S+ --resume --concurrency 1 --sandbox auto --budget 0.5 --task attention$/m);
    await until('the grading in progress to stop', () => !alive(grading), 10_000);
  });

  it('refuses to resume with another grader secret (it would grade part of the class on other hidden cases)', async () => {
    const subs = tmpDir('class');
    mkdirSync(subs, { recursive: true });
    addFolder(subs, 'alice', STARTER);
    const out = path.join(tmpDir('batch'), 'p2');
    const args = ['batch', 'p2', subs, '--out', out, '--hidden', ...QUICK];
    const first = await mlsys(args, { MLSYS_HIDDEN_SECRET: 'the-secret' });
    expect(first.exitCode).toBe(0);
    const again = await mlsys([...args, '--resume'], { MLSYS_HIDDEN_SECRET: 'a-typo' });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/--resume: secret_digest differs from the batch .*secret_digest: was "[0-9a-f]{12}"/);
    const same = await mlsys([...args, '--resume'], { MLSYS_HIDDEN_SECRET: 'the-secret' });
    expect(same.exitCode).toBe(0);
    // A batch.json written before the digest was kept: resumed, with a word of caution.
    const file = path.join(out, 'batch.json');
    const old = JSON.parse(readFileSync(file, 'utf8'));
    delete old.options.secret_digest;
    writeFileSync(file, JSON.stringify(old));
    const older = await mlsys([...args, '--resume'], { MLSYS_HIDDEN_SECRET: 'the-secret' });
    expect(older.exitCode).toBe(0);
    expect(older.stderr).toMatch(/does not record which grader secret it was started with/);
    expect(JSON.parse(readFileSync(file, 'utf8')).options.secret_digest).toMatch(/^[0-9a-f]{12}$/);
  });

  it('retries a machine fault and marks it not gradable, never a zero (exit 4)', async () => {
    const bin = await pathWithoutBubblewrap();
    const subs = tmpDir('class');
    mkdirSync(subs, { recursive: true });
    addFolder(subs, 'alice', REFERENCE);
    const out = path.join(tmpDir('batch'), 'p2');
    const r = await mlsys(['batch', 'p2', subs, '--out', out, '--max-attempts', '2', '--task', 'attention', '--sandbox', 'required'], { PATH: bin });
    expect(r.exitCode).toBe(4);
    const s = state(out, 'alice')!;
    expect(s.status).toBe('not_gradable');
    expect(s.score).toBeNull();
    expect(s.attempts.map((x: { outcome: string }) => x.outcome)).toEqual(['exit 4', 'exit 4']);
    expect(s.message).toMatch(/not gradable after 2 attempts .*never a zero.*bubblewrap.*on this node .*Install it there: a batch keeps the --sandbox it was started with/);
    expect(s.message).not.toMatch(/=== job|--sandbox auto/); // no job-log header, no advice a resume would refuse
    const row = readFileSync(path.join(out, 'gradebook.csv'), 'utf8').split('\n')[1];
    expect(row).toMatch(/,not_gradable,/);
    expect(row).not.toMatch(/,0,not_gradable/);
  });

  // The resumed run grades with the batch's --sandbox required.
  it.skipIf(!HAVE_SANDBOX)('halts when submission after submission meets the same fault, and the command it prints takes the batch up again', async () => {
    const subs = tmpDir('class');
    addFolder(subs, 'a-first', STARTER);
    addFolder(subs, 'b-second', STARTER);
    addFolder(subs, 'c-third', STARTER);
    const out = path.join(tmpDir('batch'), 'p2 graded');
    const r = await mlsys(['batch', 'p2', subs, '--out', out, '--concurrency', '1', '--halt-after', '2', '--task', 'attention', '--budget', '0.5'], { PATH: await pathWithoutBubblewrap() });
    expect(r.exitCode).toBe(4);
    expect(r.stderr).toMatch(/HALTED: the gradings of 2 different submissions in a row ended in a fault, none graded between/);
    // Halted after two faults, or more when they ended between two polls; whatever waited in the
    // pool was taken back, not held against it; nobody used up the attempts to not gradable.
    const counted = (prefix: string) => state(out, prefix)!.attempts.filter((x: { counted: boolean }) => x.counted).length;
    const used = ['a-first', 'b-second', 'c-third'].map(counted);
    expect(used.reduce((a, b) => a + b)).toBeGreaterThanOrEqual(2);
    expect(Math.max(...used)).toBeLessThan(3);
    for (const p of ['a-first', 'b-second', 'c-third']) {
      expect(state(out, p)!.status).toBe('queued');
      expect(state(out, p)!.message).toMatch(/held: the batch halted/);
    }
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.halted).toMatch(/2 different submissions/);
    expect(existsSync(path.join(out, 'gradebook.csv'))).toBe(false);

    // The node is fixed (bubblewrap back on the PATH): the printed command, pasted into a shell.
    const command = r.stderr.split('\n').at(r.stderr.split('\n').findIndex((l) => /^Nothing was graded 0/.test(l)) + 1)!.trim();
    expect(command).toMatch(/^mlsys batch p2 \S+ --out '[^']+ graded' --resume --concurrency 1 --halt-after 2 --budget 0.5 --task attention$/);
    const again = await execa('bash', ['-c', `mlsys() { "${process.execPath}" --import tsx tests/batch/helpers/batch-cli.ts "$@"; }; ${command}`], {
      reject: false,
      cwd: ROOT,
      env: { XDG_RUNTIME_DIR: '/tmp' },
    });
    expect(again.stderr).not.toMatch(/differs? from the batch/);
    expect(again.exitCode).toBe(0);
    expect(again.stderr).toMatch(/batch finished: 3 submission\(s\): 3 graded/);
    expect(JSON.parse(readFileSync(path.join(out, 'batch.json'), 'utf8')).halted).toBeNull();
    // The attempts the broken node used are not held against them: one counted attempt each.
    expect(['a-first', 'b-second', 'c-third'].map(counted)).toEqual([1, 1, 1]);
  });

  it("does not halt on submissions that all import the same package the harness does not provide: that is the students' own doing", async () => {
    // (A package the harness provides, missing from a node's install, halts it: tests/batch/breaker.test.ts.)
    const subs = tmpDir('class');
    for (const name of ['a', 'b', 'c']) {
      mkdirSync(path.join(subs, name));
      writeFileSync(path.join(subs, name, 'index.ts'), "import 'attention-helpers';\nexport function attention() {}\n");
    }
    const out = path.join(tmpDir('batch'), 'p2');
    const r = await mlsys(['batch', 'p2', subs, '--out', out, '--concurrency', '1', '--task', 'attention', '--sandbox', 'auto', '--halt-after', '2']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).not.toMatch(/HALTED/);
    for (const p of ['a', 'b', 'c']) expect(state(out, p)).toMatchObject({ status: 'load_failed', score: { total: 0 } });
  });
});
