// The type check `test` runs beside the cases: a submission runs with its types stripped, not
// checked, so a wrong property name or argument shows up only as a wrong value or an exception.
// tsc reads the submission (it never runs it) from a copy laid out as beside the starter: the
// project's type files (`../api.ts`) one folder up, and the harness's packages for their types.
// Advisory: nothing is graded on it, and where TypeScript is not installed (a grading install
// leaves development tools out) it says so and the run goes on.
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { HARNESS_ROOT } from '../runner/launcher.ts';

export type TypeCheck = { errors: string[] } | { skipped: string };

const TSC = path.join(HARNESS_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
/** The options of the course: those the starters and the reference solutions are written for. */
const OPTIONS = ['--noEmit', '--ignoreConfig', '--pretty', 'false', '--strict', '--target', 'es2022', '--module', 'nodenext', '--allowImportingTsExtensions', '--skipLibCheck', '--types', 'node'];

/**
 * Type-checks `entry` (and what it imports) of the submission in `dir`. `typeFiles`: files the
 * starter imports types from, one folder up. Errors are given with paths relative to the folder.
 */
export async function typeCheck(dir: string, entry: string, typeFiles: string[], timeoutMs = 60000): Promise<TypeCheck> {
  if (!/\.(m|c)?ts$/.test(entry)) return { skipped: 'the entry is JavaScript' };
  if (!existsSync(TSC)) return { skipped: 'TypeScript is not installed beside the harness (npm install adds it)' };
  // Inside the mlsys folder (beside the starter, as the README lays it out), the folder is read
  // where it is, as an editor reads it; elsewhere, from a copy laid out as it would be there.
  const rel = path.relative(HARNESS_ROOT, dir);
  const inPlace = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  let root: string | null = null;
  // Advisory: whatever goes wrong here (a copy, a link Windows refuses) skips the check, never the run.
  try {
    let cwd = dir;
    if (!inPlace) {
      root = mkdtempSync(path.join(os.tmpdir(), 'mlsys-types-'));
      cwd = path.join(root, 'submission');
      // Only source files: a folder may also hold data, results or a node_modules of its own.
      cpSync(dir, cwd, { recursive: true, filter: (src) => !/(^|[\\/])(node_modules|results|\.git)$/.test(src) });
      // An ES module, as the staged copy the code runs from is (runner/launcher.ts): else tsc
      // reads it as CommonJS and refuses top-level await and import.meta.
      if (!existsSync(path.join(cwd, 'package.json'))) writeFileSync(path.join(cwd, 'package.json'), '{"type":"module"}\n');
      for (const f of typeFiles) cpSync(f, path.join(root, path.basename(f)));
      symlinkSync(path.join(HARNESS_ROOT, 'node_modules'), path.join(root, 'node_modules'), 'junction');
    }
    const r = await execa(process.execPath, [TSC, ...OPTIONS, path.relative(dir, entry)], { cwd, reject: false, timeout: timeoutMs, all: true });
    if (r.timedOut) return { skipped: `tsc did not finish within ${timeoutMs / 1000} s` };
    const lines = String(r.all ?? '')
      .split('\n')
      .map((l) => l.trimEnd())
      .filter(Boolean);
    // tsc's own failure (not a type error): say so rather than show it as the student's.
    if (r.exitCode !== 0 && !lines.some((l) => /error TS\d+/.test(l))) return { skipped: `tsc failed: ${lines.slice(0, 3).join(' ') || `exit code ${r.exitCode}`}` };
    return { errors: lines.filter((l) => / error TS\d+/.test(l) || /^\s/.test(l)) };
  } catch (e) {
    return { skipped: `the type check could not be run: ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    if (root) rmSync(root, { recursive: true, force: true });
  }
}
