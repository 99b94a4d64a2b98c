// Which files of this checkout go into a package. Packages are built from an allow-list (the
// harness and one project), never from "everything but", so a new folder of staff material
// does not leak into a student bundle by default.
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Project } from '../project.ts';
import { HARNESS_ROOT } from '../runner/launcher.ts';

/** Never packaged, wherever they are. */
const NEVER = new Set(['node_modules', '.git', 'results', '.scratch', '.DS_Store']);
const NEVER_FILE = /(\.log|\.tmp|~)$|^(secret|.*\.secret|\.env)$/;

/** Relative paths (POSIX) of the files under `rel`, sorted; `rel` may be a file. */
export function listFiles(rel: string, root = HARNESS_ROOT): string[] {
  const full = path.join(root, rel);
  if (!existsSync(full)) return [];
  const st = lstatSync(full);
  if (st.isFile()) return NEVER_FILE.test(path.basename(rel)) ? [] : [rel.split(path.sep).join('/')];
  if (!st.isDirectory()) return [];
  const out: string[] = [];
  for (const name of readdirSync(full).sort()) {
    if (NEVER.has(name)) continue;
    out.push(...listFiles(path.join(rel, name), root));
  }
  return out;
}

/** The project's folder, relative to the checkout (the folder of its child module). */
export function projectFolder(project: Project): string {
  return path.relative(HARNESS_ROOT, path.dirname(project.child)).split(path.sep).join('/');
}

/** What any package needs to run the harness: the engine, its entry and its dependency list. */
export function harnessFiles(project: Project): string[] {
  return [...['package.json', 'package-lock.json', 'tsconfig.json', 'bin', 'harness'].flatMap((p) => listFiles(p)), ...listFiles(projectFolder(project))];
}
