// The scheduler adapter: the batch controller submits arrays of tasks, polls them, and cancels
// them through this interface only, so Slurm, a local pool, or another scheduler (SGE's
// `qsub -t`, say) plug in without touching grading code. A task is one line of manifest.tsv,
// run by the batch's job script.

export interface ArraySpec {
  /** The job script (bash) that runs one task. */
  script: string;
  /** Manifest indices to run: one array task each. */
  indices: number[];
  /** A name for the job (Slurm's --job-name). */
  name: string;
  /** Where the scheduler's own logs of each task go. */
  logDir: string;
}

/**
 * What the scheduler says of one task:
 * - pending / running: leave it be;
 * - ended: it ended by itself (done.json says how the grade went, if it got that far);
 * - died: the scheduler ended it (TIMEOUT, NODE_FAIL, OUT_OF_MEMORY, CANCELLED, PREEMPTED...);
 * - lost: the scheduler has no record of it (finished long ago, or started by a previous run).
 */
export type TaskPhase = 'pending' | 'running' | 'ended' | 'died' | 'lost';

export interface TaskReport {
  phase: TaskPhase;
  /** The scheduler's own word: its state and reason, for the attempt record and the TA. */
  detail: string;
}

export interface JobRef {
  id: string;
  indices: number[];
}

export interface Scheduler {
  readonly name: string;
  /** Jobs outlive this process (so --no-wait and --collect make sense). */
  readonly detached: boolean;
  /** Submits one array job, or several when the scheduler limits array sizes; returns their ids with the indices of each. */
  submit(spec: ArraySpec): Promise<JobRef[]>;
  /** Reports every task asked about, keyed by taskKey(job, index). */
  poll(jobs: JobRef[]): Promise<Map<string, TaskReport>>;
  /** Stops the tasks given (all of the job's when `indices` is absent); one that is gone already is fine. */
  cancel(job: JobRef): Promise<void>;
  /** Waits until something may have changed, at most `ms`. */
  wait(ms: number): Promise<void>;
}

export const taskKey = (job: string, index: number): string => `${job}:${index}`;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
