// `mlsys package student <project>`: the bundle students start from: the harness, the project's
// API, public cases, oracles and starter, under one top folder, with a README and package.json
// scripts of its own (student-readme.ts). Never the reference solution,
// the grader secret, the tests or the course staff's files; checked line by line before writing.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Project } from '../project.ts';
import { HARNESS_ROOT } from '../runner/launcher.ts';
import { harnessFiles, listFiles } from './files.ts';
import { referenceFolder } from '../staff.ts';
import { leaks, referenceOnlyLines } from './guard.ts';
import { studentPackageJson, studentReadme } from './student-readme.ts';
import { writeZip, type ZipItem } from './zip.ts';

export class PackageError extends Error {}

export async function packageStudent(project: Project, out: string): Promise<{ file: string; files: number }> {
  const top = `mlsys-${project.id}`;
  const rels = [...harnessFiles(project), ...listFiles('SECURITY.md')];
  const ref = referenceFolder(project);
  const bad = rels.filter((r) => r === ref || r.startsWith(`${ref}/`));
  if (bad.length) throw new PackageError(`internal error: the reference solution was picked up: ${bad.join(', ')}`);
  const data = (rel: string): Buffer =>
    rel === 'package.json' ? Buffer.from(studentPackageJson(readFileSync(path.join(HARNESS_ROOT, rel), 'utf8'), project)) : readFileSync(path.join(HARNESS_ROOT, rel));
  const items: ZipItem[] = [
    { name: `${top}/README.md`, data: Buffer.from(studentReadme(project)), executable: false },
    ...rels.map((rel) => ({ name: `${top}/${rel}`, data: data(rel), executable: rel.startsWith('bin/') })),
  ];
  const problems = leaks(items, referenceOnlyLines(ref), process.env.MLSYS_HIDDEN_SECRET ?? null);
  if (problems.length) throw new PackageError(`refusing to write the student bundle:\n  ${problems.join('\n  ')}`);
  await writeZip(out, items);
  return { file: out, files: items.length };
}
