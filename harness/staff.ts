// Where a project's staff-only material lives in a checkout: the reference solution and the
// specs of the hidden cases, both under reference/<project>. Neither ships in the student bundle
// (packages are built from an allow-list that has no reference/), and neither is mounted in a
// submission's sandbox, so a submission cannot read the hidden sizes and special-case them.
// A project declares its public cases in projects/<project>/; its hidden ones go in
// reference/<project>/hidden-cases.ts, whose default export maps task ids to case specs.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CaseSpec, Project } from './project.ts';
import { UsageError } from './projects.ts';
import { HARNESS_ROOT } from './runner/launcher.ts';

/** What reference/<project>/hidden-cases.ts exports by default: task id → its hidden cases. */
export type HiddenCases = Record<string, CaseSpec<any>[]>;

/** The reference solution's folder, relative to the checkout. */
export function referenceFolder(project: Project): string {
  return `reference/${project.id}`;
}

/** The grader secret that seeds the hidden cases: the file's text, else MLSYS_HIDDEN_SECRET. */
export function readSecret(secretFile: string | undefined): string | undefined {
  if (secretFile) return readFileSync(secretFile, 'utf8').trim();
  return process.env.MLSYS_HIDDEN_SECRET || undefined;
}

/** A short digest of the secret, recorded to tell runs with the same hidden cases apart from others. */
export function secretDigest(secret: string | null | undefined): string | null {
  return secret ? createHash('sha256').update(secret).digest('hex').slice(0, 12) : null;
}

/**
 * What a submission's process may not load (harness/child/resolve-hook.mjs) nor, under the
 * sandbox, see: the whole reference folder and the project's graderOnly files. Absolute paths.
 */
export function graderOnlyPaths(project: Project, root = HARNESS_ROOT): string[] {
  return [path.join(root, 'reference'), ...(project.graderOnly ?? [])];
}

/** The hidden cases' file, absolute. */
export function hiddenCasesFile(project: Project, root = HARNESS_ROOT): string {
  return path.join(root, referenceFolder(project), 'hidden-cases.ts');
}

/**
 * The project's hidden cases, by task id (a task missing from the file has none). A copy of the
 * harness without the file (a student's) cannot run them: that is a usage error, not a fault.
 */
export async function loadHiddenCases(project: Project, root = HARNESS_ROOT): Promise<Map<string, CaseSpec<unknown>[]>> {
  const file = hiddenCasesFile(project, root);
  if (!existsSync(file))
    throw new UsageError(`--hidden: this copy of the harness has no hidden cases for ${project.id} (${path.relative(root, file)} is staff-only and not shipped to students)`);
  const mod = (await import(pathToFileURL(file).href)) as { default?: unknown };
  const table = mod.default;
  if (!table || typeof table !== 'object') throw new Error(`${file}: the default export must map task ids to lists of cases`);
  const out = new Map<string, CaseSpec<unknown>[]>();
  for (const [id, specs] of Object.entries(table as Record<string, unknown>)) {
    if (!project.tasks.some((t) => t.id === id))
      throw new Error(`${file}: '${id}' is not a task of ${project.id} (tasks: ${project.tasks.map((t) => t.id).join(', ')})`);
    if (!Array.isArray(specs) || specs.some((s) => !s || typeof s !== 'object' || typeof (s as CaseSpec<unknown>).label !== 'string'))
      throw new Error(`${file}: '${id}' must be a list of cases ({ label, params })`);
    out.set(id, specs as CaseSpec<unknown>[]);
  }
  return out;
}
