// Messages between the process's main thread and a rank's thread (postMessage, structured
// clone). Control only: the ranks' data moves through the group's shared memory.
import type { MemoryFigures, SendEvent, TrafficFigures } from './comm.ts';
import type { SharedGroup } from './layout.ts';

export interface WorkerInit {
  rank: number;
  group: SharedGroup;
  /** URL of the project's module of rank tasks. */
  tasks: string;
  /** URL of the submission's entry module. */
  entry: string;
  /** process.hrtime.bigint() at the harness clock's origin, as a decimal string. */
  clockBase: string;
}

export type ToRank =
  | { type: 'reset'; job: number }
  | { type: 'prepare'; job: number; task: string; input: unknown }
  | { type: 'run'; job: number }
  | { type: 'discard'; job: number };

export interface RankDone {
  type: 'done';
  job: number;
  output: unknown;
  startMs: number;
  endMs: number;
  vclock: number;
  memory: MemoryFigures;
  traffic: TrafficFigures;
  timeline: SendEvent[];
  dropped: number;
}

export type FromRank =
  | { type: 'loaded' }
  | { type: 'load_error'; who: 'harness' | 'submission'; message: string; stack: string }
  | { type: 'reset_done'; job: number }
  | { type: 'prepared'; job: number }
  | { type: 'failed'; job: number; phase: 'setup' | 'run'; message: string; stack: string }
  | RankDone;
