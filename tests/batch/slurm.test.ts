// Batch grading on a real one-node Slurm (installed and started by .ci/setup-slurm.sh; this file
// only starts it again if it is installed but stopped): a job array with --gres=gpu:1 on a fake
// GPU, one task cancelled mid-run and resubmitted, and --no-wait then --collect.
import { execa } from 'execa';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/run.ts';
import { addFolder, metadata, mlsys, REFERENCE, SLOW, STARTER, tmpDir } from './helpers/class.ts';

const haveSlurm = (process.env.PATH ?? '').split(':').some((d) => d && existsSync(path.join(d, 'sbatch')));

const env = { SLURM_CONF: process.env.SLURM_CONF ?? '/tmp/mlsys-slurm/slurm/slurm.conf' };
const QUICK = ['--task', 'attention', '--sandbox', 'auto', '--budget', '0.5'];
const SLURM = ['--slurm', '--poll-interval', '1', '--time-limit', '10', '--mem', '500M', '--cpus', '1'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function state(out: string, prefix: string) {
  if (!existsSync(path.join(out, 'subs'))) return null;
  const dir = readdirSync(path.join(out, 'subs')).find((k) => k.startsWith(prefix));
  const f = dir && path.join(out, 'subs', dir, 'state.json');
  return f && existsSync(f) ? { dir: path.join(out, 'subs', dir), ...JSON.parse(readFileSync(f, 'utf8')) } : null;
}

async function until(what: string, f: () => boolean | Promise<boolean>, ms = 90_000): Promise<void> {
  const t0 = Date.now();
  while (!(await f())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

describe.skipIf(!haveSlurm)('mlsys batch --slurm (a real one-node Slurm)', () => {
  beforeAll(async () => {
    const r = await execa('bash', [path.join(ROOT, '.ci', 'slurm-start.sh')], { reject: false, env });
    if (r.exitCode !== 0) throw new Error(`Slurm is installed but would not start:\n${r.stdout}\n${r.stderr}`);
  });

  it('grades a job array, and resubmits a task that was killed mid-run', async () => {
    const subs = tmpDir('class');
    addFolder(subs, 'alice', REFERENCE, metadata('2026-10-16T17:00:00-04:00', { name: 'Alice Liddell', email: 'alice@uni.edu', sid: 'A001' }));
    addFolder(subs, 'bslow', SLOW);
    addFolder(subs, 'carol', STARTER);
    const out = path.join(tmpDir('sbatch'), 'p2');
    const batch = mlsys(['batch', 'p2', subs, '--out', out, ...SLURM, ...QUICK], env);

    // Cancel the slow submission's array task once it is running and a case in.
    await until('the slow task to be running', () => {
      const s = state(out, 'bslow');
      return Boolean(s?.job && existsSync(path.join(s.dir, 'result', 'run.json')));
    });
    const slow = state(out, 'bslow')!;
    const job = slow.job.id as string;
    const task = `${job}_${slow.index}`;
    const sq = await execa('squeue', ['-h', '-r', '-j', job, '-o', '%i %T'], { env });
    expect(sq.stdout).toMatch(new RegExp(`^${task} RUNNING$`, 'm'));
    const show = await execa('scontrol', ['-o', 'show', 'job', task], { env });
    expect(show.stdout).toMatch(/gres\/?:?gpu:1|gres:gpu:1|gpu:1/);
    expect(show.stdout).toMatch(/TimeLimit=00:10:00/);
    await execa('scancel', [task], { env });

    const r = await batch;
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/batch finished: 3 submission\(s\): 3 graded/);
    const s = state(out, 'bslow')!;
    expect(s.status).toBe('graded');
    expect(s.attempts[0]).toMatchObject({ job, counted: true });
    expect(s.attempts[0].outcome).toMatch(/CANCELLED/);
    expect(s.attempts[1]).toMatchObject({ outcome: 'exit 0', counted: true });
    expect(s.attempts[1].job).not.toBe(job); // a new array job
    expect(r.stderr).toMatch(/bslow \(bslow\): the task left no result: CANCELLED.*retrying \(1 of 3 attempts used\)/);
    const alice = state(out, 'alice')!;
    expect(alice.status).toBe('graded');
    expect(alice.score.total).toBeGreaterThanOrEqual(2.1);
    const done = JSON.parse(readFileSync(path.join(alice.dir, 'done.json'), 'utf8'));
    expect(done).toMatchObject({ rc: 0, job: alice.attempts[0].job, task: alice.index });
    // Slurm's own log of each task is kept.
    expect(readdirSync(path.join(out, 'logs')).some((f) => f.startsWith(`${job}_`))).toBe(true);
    const row = readFileSync(path.join(out, 'gradebook.csv'), 'utf8').split('\n').find((l) => l.startsWith('A001,'))!;
    expect(row).toMatch(/,graded,2026-10-16T17:00:00.000-04:00,0,/);
  });

  it('returns at once with --no-wait, and --collect gathers the results later', async () => {
    const subs = tmpDir('class');
    addFolder(subs, 'carol', STARTER);
    const out = path.join(tmpDir('sbatch'), 'p2');
    const submitted = await mlsys(['batch', 'p2', subs, '--out', out, '--no-wait', ...SLURM, ...QUICK], env);
    expect(submitted.exitCode).toBe(0);
    expect(submitted.stderr).toMatch(/collect later with: mlsys batch --collect --out/);
    expect(state(out, 'carol')!.status).toBe('running');
    const collected = await mlsys(['batch', '--collect', '--out', out, '--poll-interval', '1'], env);
    expect(collected.exitCode).toBe(0);
    expect(state(out, 'carol')!.status).toBe('graded');
    expect(existsSync(path.join(out, 'gradebook.csv'))).toBe(true);
  });

  it('--cancel stops what is in flight, and --resume takes the batch up again', async () => {
    const subs = tmpDir('class');
    addFolder(subs, 'dora', STARTER);
    const out = path.join(tmpDir('sbatch'), 'p2');
    expect((await mlsys(['batch', 'p2', subs, '--out', out, '--no-wait', ...SLURM, ...QUICK], env)).exitCode).toBe(0);
    const job = state(out, 'dora')!.job.id as string;
    const cancelled = await mlsys(['batch', '--cancel', '--out', out], env);
    expect(cancelled.exitCode).toBe(0);
    expect(cancelled.stderr).toMatch(/cancelled 1 submission\(s\) in flight/);
    expect(state(out, 'dora')).toMatchObject({ status: 'queued', job: null });
    await until('the job to leave the queue', async () => !(await execa('squeue', ['-h', '-j', job, '-t', 'PD,R,CG'], { env, reject: false })).stdout.trim());
    // The command it printed, pasted into a shell, resumes on Slurm with the batch's own options.
    const lines = cancelled.stderr.split('\n');
    const command = lines[lines.findIndex((l) => /takes the batch up again:$/.test(l)) + 1].trim();
    expect(command).toMatch(/^mlsys batch p2 \S+ --out \S+ --resume --slurm --time-limit 10 --mem 500M --cpus 1 --gres gpu:1 --sandbox auto --budget 0.5 --task attention$/);
    const resumed = await execa('bash', ['-c', `mlsys() { "${process.execPath}" --import tsx tests/batch/helpers/batch-cli.ts "$@"; }; ${command} --poll-interval 1`], {
      reject: false,
      cwd: ROOT,
      env: { ...env, XDG_RUNTIME_DIR: '/tmp' },
    });
    expect(resumed.exitCode).toBe(0);
    const s = state(out, 'dora')!;
    expect(s.status).toBe('graded');
    expect(s.attempts.map((a: { outcome: string; counted: boolean }) => [a.outcome, a.counted])).toEqual([
      ['cancelled with --cancel', false],
      ['exit 0', true],
    ]);
  });
});
