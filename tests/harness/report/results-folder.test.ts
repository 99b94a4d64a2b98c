// mlsys clean: removes the older run folders the harness named, keeps the newest of each project
// and command, every grade run unless asked, and anything it did not name; a run's report
// suggests it once results/ fills up.
import { execa } from 'execa';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../helpers/run.ts';
import { CLEAN_HINT_AT, cleanHint } from '../../../harness/report/results-folder.ts';

const BIN = path.join(ROOT, 'bin', 'mlsys.js');
const mlsys = (args: string[], cwd = ROOT) => execa(process.execPath, [BIN, ...args], { cwd, reject: false });

/** A run folder as the harness names it, `minutes` after a fixed time, holding a run.json. */
function runFolder(results: string, project: string, mode: string, minutes: number): string {
  const stamp = new Date(Date.UTC(2026, 10, 27, 9, minutes)).toISOString().replace(/[:.]/g, '-');
  const dir = path.join(results, `${project}-${mode}-${stamp}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'run.json'), '{"cases":[]}'.padEnd(1000));
  // Written a day ago: a run written to in the last minutes may still be going, and is kept.
  const then = new Date(Date.now() - 24 * 3600 * 1000);
  utimesSync(path.join(dir, 'run.json'), then, then);
  utimesSync(dir, then, then);
  return path.basename(dir);
}

function fill(): { results: string; names: Record<string, string[]> } {
  const results = path.join(mkdtempSync(path.join(os.tmpdir(), 'mlsys-clean-')), 'results');
  const names: Record<string, string[]> = { 'p2-test': [], 'p2-bench': [], 'p3-test': [], 'p2-grade': [] };
  // Made out of order: the time in the name decides which is newest, not the order on disk.
  for (const m of [4, 0, 3, 1, 2]) names['p2-test']!.push(runFolder(results, 'p2', 'test', m));
  for (const m of [10, 11]) names['p2-bench']!.push(runFolder(results, 'p2', 'bench', m));
  names['p3-test']!.push(runFolder(results, 'p3', 'test', 20));
  for (const m of [30, 31, 32, 33]) names['p2-grade']!.push(runFolder(results, 'p2', 'grade', m));
  mkdirSync(path.join(results, 'my-run')); // chosen with --out: not the harness's name
  writeFileSync(path.join(results, 'README.md'), 'mine');
  for (const k of Object.keys(names)) names[k]!.sort();
  return { results, names };
}

describe('mlsys clean', () => {
  it('keeps the newest runs of each project and command, every grade run and what it did not name; --dry-run removes nothing', async () => {
    const { results, names } = fill();
    const before = readdirSync(results).sort();
    const dry = await mlsys(['clean', results, '--keep', '2', '--dry-run']);
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toMatch(/Would remove 3 run folders \(2\.9 KiB\)/);
    expect(readdirSync(results).sort()).toEqual(before);

    const r = await mlsys(['clean', results, '--keep', '2']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/Removed 3 run folders .*; kept 9: the newest 2 of each project and command, and 4 grade runs \(--grades removes older ones too\)/);
    const left = new Set(readdirSync(results));
    const kept = [...names['p2-test']!.slice(-2), ...names['p2-bench']!, ...names['p3-test']!, ...names['p2-grade']!, 'my-run', 'README.md'];
    expect([...left].sort()).toEqual(kept.sort());
    for (const n of names['p2-test']!.slice(0, 3)) expect(r.stdout).toContain(`removed ${path.join(path.relative(ROOT, results), n)}`);

    const again = await mlsys(['clean', results, '--keep', '2']);
    expect(again.stdout).toMatch(/nothing to remove/);

    const grades = await mlsys(['clean', results, '--keep', '1', '--grades']);
    expect(grades.exitCode).toBe(0);
    expect(existsSync(path.join(results, names['p2-grade']!.at(-1)!))).toBe(true);
    expect(existsSync(path.join(results, names['p2-grade']![0]!))).toBe(false);
    expect(existsSync(path.join(results, 'my-run'))).toBe(true);
  });

  it('keeps an older run that was written to in the last minutes (it may still be going)', async () => {
    const { results, names } = fill();
    const oldest = path.join(results, names['p2-test']![0]!);
    writeFileSync(path.join(oldest, 'run.json'), '{"cases":[1]}'); // now
    const r = await mlsys(['clean', results, '--keep', '1']);
    expect(r.exitCode).toBe(0);
    expect(existsSync(oldest)).toBe(true);
    expect(existsSync(path.join(results, names['p2-test']![1]!))).toBe(false);
  });

  it('refuses a --keep below 1 and a folder that does not exist', async () => {
    const { results } = fill();
    const zero = await mlsys(['clean', results, '--keep', '0']);
    expect(zero.exitCode).toBe(2);
    expect(zero.stderr).toMatch(/--keep must be a whole number of at least 1/);
    const none = await mlsys(['clean', path.join(results, 'nope')]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/no results folder at /);
  });

  it('is suggested once results/ holds many test and bench runs (grade runs not counted)', () => {
    const { results } = fill();
    expect(cleanHint(results)).toBeNull();
    for (let m = 0; m < CLEAN_HINT_AT - 8; m++) runFolder(results, 'p4', 'bench', 40 + m);
    expect(cleanHint(results)).toMatch(new RegExp(`holds ${CLEAN_HINT_AT} test and bench runs \\(.+\\): \`npx mlsys clean\` removes all but the newest 3`));
  });
});
