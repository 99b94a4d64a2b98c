// What a project declares, on the trusted side: tasks, their public cases (the hidden ones are in
// a staff-only file: harness/staff.ts), how inputs are generated, the oracle, the comparison,
// the metrics and their formulas, and the points.
// The engine runs, measures, grades and reports; it never names a project.
import type { Rng } from './rng.ts';
import type { Record_ } from './protocol/values.ts';

export interface CaseSpec<P> {
  /** Shown in messages and used with --case <task>/<n>; the index is the case's number. */
  label: string;
  params: P;
  /**
   * The case measures the machine, not the code under test (the harness's own code runs the
   * same in every implementation, e.g. a copy bandwidth): no speedup is computed for it.
   */
  machine?: boolean;
}

export interface CheckResult {
  ok: boolean;
  /** What a student needs to act on: which output, which index, expected vs got, tolerance. */
  message: string;
  /** Figures worth keeping (max abs error, max rel error, peak bytes...). */
  details?: Record<string, number | string | boolean>;
}

export interface CallExtras {
  /** Peak tensor bytes above those held when the call started (when the task asks for it). */
  peakBytes: number | null;
}

export interface Timing {
  ms: number;
  ms_iqr: number;
}

/** One implementation's figures on one timed case. */
export interface MeasuredCase {
  impl: string;
  label: string;
  params: unknown;
  metrics: Record<string, number>;
}

/** One timed call: the inputs it got, the oracle's answer, and what came back. */
export interface TimedCall {
  inputs: Record_;
  expected: unknown;
  outputs: Record_;
}

export interface PerfSpec<P> {
  /** The case that is timed for grading. */
  case: CaseSpec<P>;
  /** More cases timed for grading (a sweep of query parameters, say). */
  sweep?: CaseSpec<P>[];
  /**
   * The task's speedup over the reference from all its graded cases (e.g. QPS at a recall
   * level on the sweep's frontier). Default: reference ms / submission ms on `case`.
   */
  speedup?(submission: MeasuredCase[], reference: MeasuredCase[]): { value: number | null; basis: string };
  /** Fraction of the task's points given for speed (the rest is for correctness). */
  share: number;
  /** Speedup vs the reference (reference ms / submission ms) that earns full speed credit. */
  target: number;
  /** Speedup at or below which no speed credit is given; linear in between. */
  floor: number;
}

export interface Task<P = any, E = any> {
  id: string;
  title: string;
  points: number;
  public: CaseSpec<P>[];
  // Hidden cases are not declared here: they are staff-only (harness/staff.ts).
  /** Wall-clock limit for one checked call, before scaling. */
  timeoutMs?: number;
  /** Ask the child for the call's peak tensor memory (checked calls only). */
  measureMemory?: boolean;
  generate(params: P, rng: Rng): Record_;
  oracle(params: P, inputs: Record_): E;
  check(params: P, inputs: Record_, outputs: Record_, expected: E, extras: CallExtras): CheckResult;
  perf?: PerfSpec<P>;
  /**
   * Why `bench` does not time a case on the device the submission's process reported (its
   * record, as in run.json's `device.tensor_device`), or null to time it: a case sized for a GPU
   * on a CPU adapter, say. Such a case is recorded as not timed, with the reason, not as a
   * failure. Graded timings are always attempted.
   */
  skipOn?(params: P, device: Record<string, unknown> | undefined): string | null;
  /** Cases timed by `bench` (a series over sizes, say); the perf case is always among them. */
  bench?: CaseSpec<P>[];
  /**
   * Derived figures for one timed case, from its timing and the outputs of its timed calls
   * (gflops, tokens_per_s...). Formulas are documented by the project.
   */
  metrics?(params: P, timing: Timing, calls: TimedCall[]): Record<string, number>;
  /** Figures across the timed cases of one implementation (a frontier, say), added to bench.json. */
  benchSummary?(cases: MeasuredCase[]): MeasuredCase[];
}

export interface Project {
  id: string;
  aliases: string[];
  title: string;
  /** Absolute path of the module the submission's process loads (a ChildProject). */
  child: string;
  tasks: Task[];
  /** Named subsets of tasks graded on their own (e.g. a check-in). */
  milestones?: Record<string, string[]>;
  /**
   * GPU use: 'required' (kernels: the GPU's device nodes always go into the sandbox),
   * 'optional' (a tensor backend may use one: passed in unless the backend is cpu or wasm),
   * or absent (never).
   */
  gpu?: 'required' | 'optional';
  /**
   * Extra flags for the node of the submission's process (e.g. '--disable-wasm-trap-handler');
   * those the running node does not know are left out, so the project must work without them.
   */
  nodeFlags?: string[];
  /**
   * The project's trusted-side files that compute expected answers (its oracle, and what wraps
   * it), absolute paths: the submission's process is refused an import of them, with a message
   * saying why, and under the sandbox cannot read them. The reference folder is always refused
   * (harness/staff.ts).
   */
  graderOnly?: string[];
  /**
   * The packages a submission may import (bare names, e.g. '@tensorflow/tfjs'), besides Node's
   * built-in modules; none if absent. Any other is refused, even when installed beside the
   * harness, with a message saying why (child/packages.mjs). The reference and the baselines are
   * trusted and not restricted.
   */
  packages?: string[];
  /**
   * Files a submission imports types from, beside the starter's folder ('../api.ts'), absolute:
   * `test` type-checks a folder kept elsewhere as if it were there (check/typecheck.ts).
   */
  typeFiles?: string[];
  /** Files a submission must have; the first that exists is the entry. */
  entries: string[];
  /**
   * Named baselines timed by `bench` next to the submission and the reference: folders that
   * implement the project's API (wrapping a library, say). Trusted code, run the same way.
   */
  baselines?: {
    name: string;
    dir: string;
    /** Packages it needs that may not be installed (optional dependencies): without them it is left out, with a warning. */
    requires?: string[];
  }[];
}

export function defineTask<P, E>(t: Task<P, E>): Task<P, E> {
  return t;
}

export function defineProject(p: Project): Project {
  return p;
}
