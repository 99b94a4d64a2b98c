// What a project declares for the submission's side of the process boundary: for each task,
// which exports the submission must have, how to turn wire inputs into the API's arguments
// (untimed), and how to call the submission and bring its outputs back as plain tensors (timed).
import type { Record_ } from '../protocol/values.ts';
import type { TensorRuntime } from './tensor-runtime.ts';

export type Submission = Record<string, unknown>;

export interface ChildContext {
  /** The tensor runtime (tfjs and its backend) when the project asked for one. */
  rt: TensorRuntime;
  /** What the project's setup made (a GPU device, say), before the submission loaded. */
  resources: unknown;
  /** The folder the submission's entry file is in (read-only). */
  submissionDir: string;
  /** The file URL of the module the driver loaded as the submission (for threads that load it too). */
  entryUrl: string;
  /** The harness's clock in ms (captured before the submission loaded). */
  nowMs(): number;
  /**
   * Says what the call is doing now (which of the submission's methods it is in), for the
   * message of a timeout: code stuck on the main thread cannot be asked. Cheap, but not free: a
   * no-op in timed calls.
   */
  phase(what: string): void;
}

export interface ChildTask<A = unknown> {
  /** Functions the submission must export for this task. */
  exports: string[];
  /** Builds the call's arguments from the inputs. Not timed. */
  prepare(inputs: Record_, ctx: ChildContext): A | Promise<A>;
  /** Calls the submission and returns its outputs as plain tensors/values. Timed. */
  invoke(sub: Submission, args: A, ctx: ChildContext): Promise<Record_>;
  /** Frees what prepare made. Not timed. */
  release?(args: A, ctx: ChildContext): void;
}

/**
 * An invoke may time itself with the device's own clock (GPU timestamps): it puts the duration
 * in ms under this key of what it returns, and the driver takes that as the call's time instead
 * of the host clock's (and removes it from the outputs).
 */
export const DEVICE_DURATION_KEY = '$duration_ms';

export interface ChildProject {
  /** 'tfjs': the driver starts a tfjs backend before the submission loads. */
  runtime: 'tfjs' | 'none';
  /**
   * Runs once before the submission loads (e.g. opens the GPU device). A throw here is a machine
   * fault (not gradable), not the student's. `device` is recorded with every result.
   */
  setup?(o: { backend: string }): Promise<{ resources: unknown; device: Record<string, string | number | boolean> }>;
  tasks: Record<string, ChildTask<any>>;
}

export function defineChild(p: ChildProject): ChildProject {
  return p;
}

/** Thrown by a project's invoke when the submission returned something of the wrong kind. */
export class BadOutputError extends Error {
  override name = 'BadOutputError';
}
