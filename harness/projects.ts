// Finds projects: every folder under projects/ with a project.ts. A fifth project is a new
// folder, not a change here.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { HARNESS_ROOT } from './runner/launcher.ts';
import type { Project } from './project.ts';

export const PROJECTS_DIR = path.join(HARNESS_ROOT, 'projects');

export async function loadProjects(): Promise<Project[]> {
  const out: Project[] = [];
  for (const name of readdirSync(PROJECTS_DIR).sort()) {
    const file = path.join(PROJECTS_DIR, name, 'project.ts');
    if (!existsSync(file)) continue;
    out.push(((await import(pathToFileURL(file).href)) as { default: Project }).default);
  }
  return out;
}

export class UsageError extends Error {}

export async function findProject(nameOrAlias: string): Promise<Project> {
  const all = await loadProjects();
  const key = nameOrAlias.toLowerCase();
  const p = all.find((x) => x.id === key || x.aliases.includes(key));
  if (!p) {
    const known = all.map((x) => `${x.id} (${x.aliases.join(', ')})`).join('; ');
    throw new UsageError(`unknown project '${nameOrAlias}'. Projects here: ${known || 'none'}`);
  }
  return p;
}
