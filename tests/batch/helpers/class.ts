// A class of submissions for the batch tests, built from the repository's own code: the reference
// solution (full marks), the starter (no marks), a file that does not compile, a hostile archive;
// as folders, Gradescope's layout, a zip and a .tar.gz, with submission times.
import { cpSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { FIXTURES, ROOT } from '../../helpers/run.ts';
import { rawZip, tarGzFolder, zipFolder } from './archives.ts';

export const REFERENCE = path.join(ROOT, 'reference', 'p2');
export const STARTER = path.join(ROOT, 'projects', 'p2', 'starter');
export const BROKEN = path.join(FIXTURES, 'p2-syntax-error');
export const SLOW = path.join(FIXTURES, 'batch', 'slow-attention');

const CLI = path.join(ROOT, 'tests', 'batch', 'helpers', 'batch-cli.ts');

export const tmpDir = (tag: string) => mkdtempSync(path.join(os.tmpdir(), `mlsys-${tag}-`));

/** Runs `mlsys batch ...` (or gradebook, package) as its own process. */
export function mlsys(args: string[], env: Record<string, string> = {}): ResultPromise<{ reject: false; cwd: string; env: Record<string, string>; extendEnv: true }> {
  return execa(process.execPath, ['--import', 'tsx', CLI, ...args], { reject: false, cwd: ROOT, env: { XDG_RUNTIME_DIR: '/tmp', ...env }, extendEnv: true });
}

/** Gradescope's submission_metadata.json for one student. */
export function metadata(createdAt: string, user: { name: string; email: string; sid: string }): string {
  return JSON.stringify({ id: 1, created_at: createdAt, users: [{ ...user, id: 7 }], assignment: { title: 'Project 2' } }, null, 2);
}

/** Copies a folder into the class as NAME/, or in Gradescope's layout (NAME/submission/ + metadata). */
export function addFolder(dir: string, name: string, from: string, meta?: string): void {
  if (meta) {
    mkdirSync(path.join(dir, name));
    writeFileSync(path.join(dir, name, 'submission_metadata.json'), meta);
    cpSync(from, path.join(dir, name, 'submission'), { recursive: true });
  } else cpSync(from, path.join(dir, name), { recursive: true });
}

export async function addZip(dir: string, name: string, from: string, meta?: string, prefix = 'my-p2'): Promise<void> {
  await zipFolder(from, path.join(dir, `${name}.zip`), prefix);
  if (meta) writeFileSync(path.join(dir, `${name}.submission_metadata.json`), meta);
}

export async function addTarGz(dir: string, name: string, from: string): Promise<void> {
  await tarGzFolder(from, path.join(dir, `${name}.tar.gz`));
}

export function addHostileZip(dir: string, name: string): void {
  rawZip(path.join(dir, `${name}.zip`), [{ name: 'index.ts', data: 'export {};' }, { name: '../../escape.ts', data: 'pwned' }]);
}
