// The staff-only hidden cases (harness/staff.ts): every project's load and name only its own
// tasks, every graded task has some, none of them is written anywhere under projects/ (which
// ships to students and is mounted in the sandbox), and a copy without them says so. The
// grader-only files a submission may not load exist.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProjects, UsageError } from '../../harness/projects.ts';
import { graderOnlyPaths, hiddenCasesFile, loadHiddenCases } from '../../harness/staff.ts';
import { walk } from '../helpers/files.ts';
import { ROOT } from '../helpers/run.ts';


describe('hidden cases', async () => {
  const projects = await loadProjects();

  it('every project has them, for its graded tasks only, and their labels are unique per task', async () => {
    expect(projects.map((p) => p.id)).toEqual(['p1', 'p2', 'p3', 'p4']);
    for (const p of projects) {
      const hidden = await loadHiddenCases(p);
      for (const t of p.tasks) {
        const specs = hidden.get(t.id) ?? [];
        if (t.points > 0) expect(specs.length, `${p.id}/${t.id}`).toBeGreaterThanOrEqual(2);
        expect(new Set(specs.map((s) => s.label)).size, `${p.id}/${t.id}`).toBe(specs.length);
      }
    }
  });

  it('are written nowhere under projects/', () => {
    const shipped = walk(path.join(ROOT, 'projects')).map((f) => readFileSync(f, 'utf8'));
    let lines = 0;
    for (const p of projects) {
      // The lines that build a case: a label and its sizes.
      const own = readFileSync(hiddenCasesFile(p), 'utf8').split('\n').map((l) => l.trim()).filter((l) => /^\w+\('/.test(l));
      lines += own.length;
      for (const l of own) expect(shipped.some((t) => t.includes(l)), `${p.id}: ${l}`).toBe(false);
    }
    expect(lines).toBeGreaterThan(40); // the search is not vacuous
  });

  it('a copy without them (a student\'s) cannot run them, and says why', async () => {
    const root = path.join(os.tmpdir(), `mlsys-staff-${process.pid}`);
    await expect(loadHiddenCases(projects[0]!, root)).rejects.toThrow(UsageError);
    await expect(loadHiddenCases(projects[0]!, root)).rejects.toThrow(/no hidden cases for p1 \(reference\/p1\/hidden-cases\.ts is staff-only/);
  });

  it('a file that names a task the project does not have is refused', async () => {
    const root = path.join(os.tmpdir(), `mlsys-staff-bad-${process.pid}`);
    mkdirSync(path.join(root, 'reference', 'p1'), { recursive: true });
    writeFileSync(path.join(root, 'reference', 'p1', 'hidden-cases.ts'), "export default { allReduce: [], alReduce: [{ label: 'x', params: {} }] };\n");
    await expect(loadHiddenCases(projects[0]!, root)).rejects.toThrow(/'alReduce' is not a task of p1/);
  });
});

describe('grader-only files', async () => {
  const projects = await loadProjects();

  it("are the reference folder and each project's oracle, all existing files (a typo would guard nothing)", () => {
    for (const p of projects) {
      const paths = graderOnlyPaths(p);
      expect(paths[0]).toBe(path.join(ROOT, 'reference'));
      expect(paths.some((f) => path.basename(f) === 'oracle.ts'), p.id).toBe(true);
      // Absolute: the module hooks and the sandbox compare them with absolute paths.
      for (const f of paths) {
        expect(path.isAbsolute(f), f).toBe(true);
        expect(existsSync(f), f).toBe(true);
      }
    }
  });
});
