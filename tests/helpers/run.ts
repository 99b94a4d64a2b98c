// Runs the engine the way the CLI does, for tests: a project, a submission folder, options.
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { executeRun, type RunOptions, type RunOutcome } from '../../harness/grade/run.ts';
import { DEFAULT_MEASURE } from '../../harness/measure/interleaved.ts';
import { findProject } from '../../harness/projects.ts';
import type { Project } from '../../harness/project.ts';
import { HARNESS_ROOT, PlainLauncher, type Launcher } from '../../harness/runner/launcher.ts';
import { BubblewrapLauncher, sandboxProblem } from '../../harness/runner/sandbox.ts';

export const ROOT = HARNESS_ROOT;
export const FIXTURES = path.join(ROOT, 'tests', 'fixtures');
export const HAVE_SANDBOX = sandboxProblem() === null;

export function tmpOut(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'mlsys-test-out-'));
}

export interface TestRunOptions extends Partial<Omit<RunOptions, 'project' | 'submissionDir'>> {
  sandbox?: boolean;
  /** A project changed for the test (a case added, say) instead of the one named. */
  project?: Project;
}

export async function run(projectId: string, submissionDir: string, o: TestRunOptions = {}): Promise<RunOutcome> {
  const project = o.project ?? (await findProject(projectId));
  const launcher: Launcher = o.sandbox ? new BubblewrapLauncher() : new PlainLauncher();
  return executeRun({
    project,
    mode: 'test',
    referenceDir: path.join(ROOT, 'reference', project.id),
    outDir: tmpOut(),
    hidden: false,
    backend: 'auto',
    launcher,
    timeoutScale: 1,
    measure: { ...DEFAULT_MEASURE, budgetMs: 300, minSamples: 3, maxSamples: 20 },
    resume: false,
    progress: () => {},
    ...o,
    submissionDir,
  });
}
