// Time and memory for one grading job, from what the project declares: its cases and their time
// limits, its timed tasks. A project has no field for its machine needs yet, so memory, CPUs
// and the GPU are defaults; every figure is overridable on the command line.
import type { Project } from '../project.ts';

/** Time for the process to start and load the submission and the reference, in seconds. */
const STARTUP_S = 120;
/** The engine's per-call limit when a task does not set one (harness/grade/run.ts). */
const DEFAULT_CALL_TIMEOUT_S = 20;
/** The engine's default limit for all of a submission's cases together (`--submission-timeout`). */
const SUBMISSION_TIMEOUT_S = 1800;
/** Per timed task: warm-up and rounds for the submission and the reference (budget 6 s each) with room. */
const TIMED_TASK_S = 60;

/** How many hidden cases each task has, by task id (empty without --hidden). */
export type HiddenCaseCounts = Map<string, number>;

export interface JobNeeds {
  timeMinutes: number;
  mem: string;
  cpus: number;
  gres: string | null;
}

/**
 * The worst case the engine allows: every case running to its time limit (but no more than the
 * submission's total limit), every timed task timed, with half again as margin.
 */
export function jobNeeds(project: Project, o: { hiddenCases: HiddenCaseCounts; tasks: string[] | null; timeoutScale: number; submissionTimeoutS?: number }): JobNeeds {
  const tasks = project.tasks.filter((t) => !o.tasks || o.tasks.includes(t.id));
  let cases = 0;
  for (const t of tasks) cases += (t.public.length + (o.hiddenCases.get(t.id) ?? 0)) * ((t.timeoutMs ?? DEFAULT_CALL_TIMEOUT_S * 1000) / 1000);
  const checks = Math.min(cases, o.submissionTimeoutS ?? SUBMISSION_TIMEOUT_S);
  const timed = tasks.filter((t) => t.perf).length * TIMED_TASK_S;
  const seconds = (STARTUP_S + checks + timed) * o.timeoutScale * 1.5;
  return { timeMinutes: Math.max(10, Math.ceil(seconds / 60)), mem: '8G', cpus: 2, gres: 'gpu:1' };
}
