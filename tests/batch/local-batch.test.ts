// A whole class graded locally, end to end: real folders, a real zip and .tar.gz, real grading
// processes (one quick task), then the summary, the gradebook with late hours, the Canvas file
// and the leaderboard.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import { addFolder, addHostileZip, addTarGz, addZip, BROKEN, metadata, mlsys, REFERENCE, STARTER, tmpDir } from './helpers/class.ts';

const QUICK = ['--task', 'attention', '--sandbox', 'auto', '--budget', '0.5'];
const csv = (f: string) => parse(readFileSync(f, 'utf8'), { columns: true }) as Record<string, string>[];

describe('mlsys batch, local pool', () => {
  const subs = tmpDir('class');
  const out = path.join(tmpDir('batch'), 'p2');
  const stamps = path.join(tmpDir('stamps'), 'times.csv');
  let run: Awaited<ReturnType<typeof mlsys>>;

  beforeAll(async () => {
    // Due Friday 16 October 2026 at 6 PM, America/New_York.
    addFolder(subs, 'alice', REFERENCE, metadata('2026-10-16T17:59:59-04:00', { name: 'Alice Liddell', email: 'alice@uni.edu', sid: 'A001' }));
    await addZip(subs, 'bob', REFERENCE, metadata('2026-10-16T23:00:00-04:00', { name: 'Bob Ross', email: 'bob@uni.edu', sid: 'B002' }));
    addFolder(subs, 'carol', STARTER);
    addFolder(subs, 'carol__first-try', BROKEN); // older: superseded by 'carol', never graded
    await addTarGz(subs, 'dave', BROKEN);
    addHostileZip(subs, 'eve');
    writeFileSync(path.join(subs, 'notes.txt'), 'not a submission');
    // carol's time from the CSV: 3 AM is inside the not-counted window, so 6 late hours.
    // zed: a typo in the CSV, which matches no submission.
    writeFileSync(stamps, 'entry,submitted_at\ncarol,2026-10-17 03:00\ncarol__first-try,2026-10-15 09:00\ndave.tar.gz,2026-10-16T12:00:00-04:00\nzed,2026-10-16 10:00\n');
    run = await mlsys(['batch', 'p2', subs, '--out', out, '--concurrency', '2', '--timestamps', stamps, ...QUICK]);
  });

  it('grades every submission in its own process and finishes with exit 0', () => {
    expect(run.stderr).toMatch(/note: notes\.txt: not a folder, \.zip, \.tar\.gz or \.tgz; skipped/);
    expect(run.stderr).toMatch(/note: timestamps: entry 'zed' \(2026-10-16T10:00:00\.000-04:00\) matches no submission here, or another row for it came first; ignored/);
    expect(run.stderr).toMatch(/note: 1 of 6 submission\(s\) have no submission time \(no metadata and no row in --timestamps\): .* \(eve\.zip\)/);
    expect(run.stderr).toMatch(/batch finished: 5 submission\(s\) \(and 1 older submission\(s\) superseded by a newer one of the same student, not graded\): 3 graded, 2 scored 0/);
    expect(run.exitCode).toBe(0);
    const summary = JSON.parse(readFileSync(path.join(out, 'summary.json'), 'utf8'));
    const by = Object.fromEntries(summary.submissions.map((s: { entry: string }) => [s.entry, s]));
    expect(by['alice'].status).toBe('graded');
    expect(by['bob.zip'].status).toBe('graded');
    expect(by['carol'].status).toBe('graded');
    expect(by['carol'].score).toBe(0);
    expect(by['carol__first-try'].status).toBe('superseded');
    expect(by['carol__first-try'].attempts).toBe(0);
    expect(by['dave.tar.gz'].status).toBe('load_failed');
    expect(by['dave.tar.gz'].message).toMatch(/could not be loaded/);
    expect(by['eve.zip'].status).toBe('rejected');
    expect(by['eve.zip'].message).toMatch(/'\.\.\/\.\.\/escape\.ts' leads out of the folder/);
    for (const e of ['alice', 'bob.zip', 'carol', 'dave.tar.gz']) {
      const results = JSON.parse(readFileSync(path.join(out, by[e].result, 'results.json'), 'utf8'));
      expect(results.tests.length).toBeGreaterThan(0); // Gradescope's format, one folder each
    }
    expect(by['alice'].score).toBeGreaterThanOrEqual(2.1); // every case right; speed varies with load
    expect(existsSync(path.join(path.dirname(out), 'escape.ts'))).toBe(false);
  });

  it('writes a gradebook with a column per task and per project, late hours and weighted points', () => {
    const rows = csv(path.join(out, 'gradebook.csv'));
    const by = Object.fromEntries(rows.map((r) => [r.student, r]));
    expect(Object.keys(by).sort()).toEqual(['A001', 'B002', 'carol', 'dave', 'eve']);
    const alice = by['A001'];
    expect(alice.name).toBe('Alice Liddell');
    expect(alice['p2 status']).toBe('graded');
    expect(alice['p2 late hours']).toBe('0');
    expect(Number(alice['p2/attention (of 3)'])).toBe(Number(alice['p2 score']));
    expect(Number(alice['p2 points (of 18)'])).toBeCloseTo((18 * Number(alice['p2 score'])) / 3, 2);
    expect(by['B002']['p2 late hours']).toBe('5');
    expect(by['B002']['late hours left']).toBe('139');
    expect(by['carol']['p2 late hours']).toBe('6');
    expect(by['carol']['p2 points (of 18)']).toBe('0');
    expect(by['dave']).toMatchObject({ 'p2 status': 'load_failed', 'p2 score': '0', 'p2 late hours': '0', 'p2 points (of 18)': '0' });
    expect(by['eve']['p2 status']).toBe('rejected');
    expect(by['eve'].flags).toMatch(/leads out of the folder/);
    const canvas = readFileSync(path.join(out, 'canvas.csv'), 'utf8').split('\n');
    expect(canvas[0]).toBe('Student,ID,SIS User ID,SIS Login ID,Section,Project 2: Attention and KV caching (p2)');
    expect(canvas[1]).toBe('Points Possible,,,,,18');
  });

  it('writes pseudonymous leaderboard entries in Gradescope format', () => {
    const lb = JSON.parse(readFileSync(path.join(out, 'leaderboard.json'), 'utf8'));
    expect(lb.entries.length).toBeGreaterThanOrEqual(2); // alice and bob were timed
    for (const e of lb.entries) {
      expect(e.name).toMatch(/^[a-z]+-[a-z]+-[0-9a-f]{4}$/);
      expect(e.leaderboard[0]).toMatchObject({ name: 'attention speedup', order: 'desc' });
      expect(typeof e.leaderboard[0].value).toBe('number');
    }
    expect(readFileSync(path.join(out, 'leaderboard.json'), 'utf8')).not.toMatch(/alice|bob|A001|B002/i);
  });

  it('merges batches into a course gradebook with a roster; nothing handed in by the last day is zero', async () => {
    const roster = path.join(tmpDir('roster'), 'canvas-export.csv');
    writeFileSync(
      roster,
      'Student,ID,SIS User ID,SIS Login ID,Section,Project 2 (123)\n    Points Possible,,,,,18\n"Liddell, Alice",101,A001,alice@uni.edu,L01,\n"Ross, Bob",102,B002,bob@uni.edu,L01,\n"Frank, Nobody",106,F006,frank@uni.edu,L02,\n',
    );
    const gb = path.join(tmpDir('gradebook'), 'out');
    const r = await mlsys(['gradebook', out, '--out', gb, '--roster', roster, '--as-of', '2026-12-20T12:00:00-05:00']);
    expect(r.exitCode).toBe(0);
    const rows = csv(path.join(gb, 'gradebook.csv'));
    const frank = rows.find((x) => x.student === 'F006')!;
    expect(frank).toMatchObject({ name: 'Frank, Nobody', 'p2 status': 'missing', 'p2 score': '0', 'p2 points (of 18)': '0' });
    // Who handed in but is not on the roster is flagged: Canvas would not match the row.
    expect(rows.find((x) => x.student === 'carol')!.flags).toMatch(/not on the roster/);
    expect(rows.find((x) => x.student === 'A001')!.flags).not.toMatch(/not on the roster/);
    const canvas = parse(readFileSync(path.join(gb, 'canvas.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
    const alice = canvas.find((x) => x['SIS User ID'] === 'A001')!;
    expect(alice).toMatchObject({ Student: 'Liddell, Alice', ID: '101', 'SIS Login ID': 'alice@uni.edu', Section: 'L01' });
    expect(Number(alice['Project 2: Attention and KV caching (p2)'])).toBeGreaterThan(12);
    expect(canvas.find((x) => x.ID === '106')!['Project 2: Attention and KV caching (p2)']).toBe('0');
    const json = JSON.parse(readFileSync(path.join(gb, 'gradebook.json'), 'utf8'));
    expect(json.projects.map((p: { id: string; weight: number }) => [p.id, p.weight])).toEqual([['p2', 18]]);
  });

  it('refuses to overwrite a batch, and explains bad usage (exit 2)', async () => {
    const again = await mlsys(['batch', 'p2', subs, '--out', out, ...QUICK]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/already holds a batch: pass --resume/);
    const noWait = await mlsys(['batch', 'p2', subs, '--out', path.join(tmpDir('x'), 'b'), '--no-wait', ...QUICK]);
    expect(noWait.exitCode).toBe(2);
    expect(noWait.stderr).toMatch(/--no-wait needs --slurm/);
    const missing = await mlsys(['batch', 'p2', '/no/such/folder', ...QUICK]);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/submissions folder not found/);
    const task = await mlsys(['batch', 'p2', subs, '--task', 'nope']);
    expect(task.exitCode).toBe(2);
    expect(task.stderr).toMatch(/unknown task 'nope'/);
  });
});
