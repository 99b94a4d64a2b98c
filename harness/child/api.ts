// What a project declares for the submission's side of the process boundary: for each task,
// which exports the submission must have, how to turn wire inputs into the API's arguments
// (untimed), and how to call the submission and bring its outputs back as plain tensors (timed).
import type { Record_ } from '../protocol/values.ts';
import type { TensorRuntime } from './tensor-runtime.ts';

export type Submission = Record<string, unknown>;

export interface ChildContext {
  /** The tensor runtime (tfjs and its backend) when the project asked for one. */
  rt: TensorRuntime;
  /** The harness's clock in ms (captured before the submission loaded). */
  nowMs(): number;
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

export interface ChildProject {
  /** 'tfjs': the driver starts a tfjs backend before the submission loads. */
  runtime: 'tfjs' | 'none';
  tasks: Record<string, ChildTask<any>>;
}

export function defineChild(p: ChildProject): ChildProject {
  return p;
}

/** Thrown by a project's invoke when the submission returned something of the wrong kind. */
export class BadOutputError extends Error {
  override name = 'BadOutputError';
}
