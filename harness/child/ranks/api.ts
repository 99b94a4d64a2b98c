// What a project writes to run the submission on several ranks: a module of rank tasks, loaded
// in every rank's thread next to the submission. For each task, `setup` (not timed) turns the
// rank's input into what the submission's function needs, and `run` (timed) calls it with the
// rank's communicator and returns the rank's output (plain data, typed arrays included).
import type { Comm, MemoryFigures, TrafficFigures } from './comm.ts';

export type { Comm, MemoryFigures, TrafficFigures } from './comm.ts';
export type Submission = Record<string, unknown>;

/** The harness's view of one rank, for the project's rank code (the submission never gets it). */
export interface RankContext {
  readonly rank: number;
  readonly size: number;
  /** The harness's clock in ms (the same origin in every rank and in the process's main thread). */
  nowMs(): number;
  /** This rank's traffic since the job started. */
  traffic(): TrafficFigures;
  /** Bytes this rank holds through comm.alloc (live, peak, by tag). */
  memory(): MemoryFigures;
  /** Starts a new peak from the bytes live now. */
  resetPeak(): void;
  /**
   * A zero-filled array in this rank's shared arena that is not counted in the rank's memory
   * (the harness's own buffers: a task's input, say). Sends from it cost one copy. Valid for the
   * current job only.
   */
  alloc(n: number, dtype?: 'float32' | 'float64' | 'int32' | 'uint8'): Float32Array | Float64Array | Int32Array | Uint8Array;
  free(a: ArrayBufferView): void;
  /**
   * Records the bytes of ArrayBuffers this rank's thread holds now (after a full garbage
   * collection), outside comm.alloc: the baseline of untrackedBytes. Slow: ~10 ms.
   */
  memoryBaseline(): void;
  /**
   * Bytes of ArrayBuffers this rank's thread holds that did not come from comm.alloc, above the
   * baseline (after a full garbage collection; negative when below it). Slow: ~10 ms.
   */
  untrackedBytes(): number;
  /**
   * The rank's virtual clock: advanced by the project's code (a simulated compute cost) and
   * carried by every message (a receive moves the receiver's clock to at least the sender's at
   * the time of the send).
   */
  vtime(): number;
  advance(units: number): void;
}

export interface RankTask<I = any, S = any, O = any> {
  /** Not timed: builds the rank's state from its input. Communication here is counted too. */
  setup?(sub: Submission, comm: Comm, input: I, ctx: RankContext): S | Promise<S>;
  /** Timed: calls the submission; returns the rank's output (structured-cloneable). */
  run(sub: Submission, comm: Comm, state: S, ctx: RankContext): O | Promise<O>;
}

export interface RankTasks {
  tasks: Record<string, RankTask>;
}

export function defineRankTasks(t: RankTasks): RankTasks {
  return t;
}

/** Thrown by a project's rank code when the submission's function returned the wrong kind of thing. */
export class RankOutputError extends Error {
  override name = 'RankOutputError';
}
