// Multi-rank execution inside the submission's process: N worker threads, each loading the
// submission and the project's rank tasks, each with its own communicator over shared memory
// (comm.ts). Runs in the process's main thread (the driver's), called from a project's child
// module: open a pool of ranks (not timed), prepare a job on it (not timed), run it (timed),
// and get every rank's output with the group's traffic, memory and timing figures. A rank that
// throws or exits ends the job at once with that rank's error; a deadlock ends it within a
// fraction of a second with a message saying which ranks wait on which (deadlock.ts).
import { nowMs } from '../clock.ts';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { MemoryFigures, SendEvent, TrafficFigures } from './comm.ts';
import { DEFAULT_WATCHDOG, Watchdog, type WatchdogOptions } from './deadlock.ts';
import { onStallReport } from '../stall.ts';
import { C_BYTES, C_MESSAGES, C_RECEIVED, counterIndex, createGroup, DEFAULT_ARENA_BYTES, DEFAULT_LINK_BYTES, resetGroup, type SharedGroup } from './layout.ts';
import type { FromRank, RankDone, ToRank, WorkerInit } from './protocol.ts';

export type { RankContext, RankTask, RankTasks, Submission } from './api.ts';
export { defineRankTasks, RankOutputError } from './api.ts';
export type { MemoryFigures, SendEvent, TrafficFigures } from './comm.ts';

// Captured when this module loads (the project's child module loads it before the submission).
const hrtime = process.hrtime.bigint.bind(process.hrtime);

/** process.hrtime.bigint() at the harness clock's origin: ranks' clocks share the driver's origin. */
function clockBase(): bigint {
  const hr = hrtime();
  const ms = nowMs();
  return hr - BigInt(Math.round(ms * 1e6));
}

export const MAX_RANKS = 64;
/** How long the other ranks have to end their calls after one threw, for the pool to be kept. */
const SETTLE_MS = 250;

export type FailureKind = 'deadlock' | 'rank_error' | 'rank_exit' | 'load_error';

const FAILURE_NAMES: Record<FailureKind, string> = { deadlock: 'Deadlock', rank_error: 'RankError', rank_exit: 'RankExit', load_error: 'LoadError' };

/** Why a job (or a pool) ended without outputs. The message is written for the student. */
export class RankFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly rank: number | null = null,
    rankStack = '',
  ) {
    super(message);
    this.name = FAILURE_NAMES[kind];
    // The rank's own stack frames (where its code threw), after the message.
    const frames = rankStack
      .split('\n')
      .filter((l) => /^\s+at /.test(l))
      .join('\n');
    this.stack = `${this.name}: ${message}${frames ? `\n${frames}` : ''}`;
  }
}

export interface PoolSpec {
  size: number;
  /** URL (or path) of the submission's entry module, loaded by every rank. */
  entry: string;
  /** URL (or path) of the project's module of rank tasks (default export of defineRankTasks). */
  tasks: string;
  /** Bytes of each directed link's buffer (a power of two; default 1 MiB). */
  linkBytes?: number;
  /** Bytes of each rank's shared arena (comm.alloc and ctx.alloc; default 32 MiB, touched only when used). */
  arenaBytes?: number;
  /** Heap limit of each rank's thread, in MiB (typed arrays are outside it). */
  heapMb?: number;
  watchdog?: WatchdogOptions;
}

/** Figures of one job across the group. */
export interface GroupStats {
  size: number;
  linkBytes: number;
  /** recvReduce into arenas added with WebAssembly SIMD (the arenas are WebAssembly memories), or with JavaScript loops. */
  simdReduce: boolean;
  /** Payload bytes sent on each link: links.bytes[src][dst]. */
  links: { bytes: number[][]; messages: number[][] };
  /** Per rank. */
  bytesSent: number[];
  messagesSent: number[];
  bytesReceived: number[];
  /** Messages sent and never received, per link (src, dst, count). */
  unreceived: { src: number; dst: number; messages: number }[];
  /** From the first rank's start to the last rank's end of `run`, on the harness clock (ms). */
  spanMs: number;
  ranks: { startMs: number; endMs: number; vclock: number; memory: MemoryFigures; traffic: TrafficFigures }[];
  /** Every send (capped per rank; `timelineDropped` counts the rest), sorted by start time. */
  timeline: SendEvent[];
  timelineDropped: number;
}

export interface JobResult<O = unknown> {
  outputs: O[];
  stats: GroupStats;
}

// A URL already, or a path (on Windows, C:\... must not be read as a URL scheme).
const toUrl = (s: string) => (/^(file|data|node):/.test(s) ? s : pathToFileURL(path.resolve(s)).href);

let jobIds = 0;

export class RankPool {
  readonly group: SharedGroup;
  private workers: Worker[] = [];
  private closed = false;
  /** Set when a rank's thread died or a job failed: the pool is not reused. */
  broken: RankFailure | null = null;
  private listener: ((rank: number, m: FromRank | { type: 'exit'; code: number } | { type: 'error'; error: unknown }) => void) | null = null;
  private pending: Promise<void> = Promise.resolve();

  private constructor(readonly spec: PoolSpec) {
    this.group = createGroup(spec.size, spec.linkBytes ?? DEFAULT_LINK_BYTES, spec.arenaBytes ?? DEFAULT_ARENA_BYTES);
  }

  get size(): number {
    return this.spec.size;
  }

  get usable(): boolean {
    return !this.closed && !this.broken;
  }

  /** Starts the ranks' threads and waits until each has loaded the submission. */
  static async open(spec: PoolSpec): Promise<RankPool> {
    if (!Number.isInteger(spec.size) || spec.size < 1 || spec.size > MAX_RANKS)
      throw new RangeError(`a pool needs 1 to ${MAX_RANKS} ranks, got ${spec.size}`);
    const pool = new RankPool(spec);
    const base = clockBase().toString();
    const loaded = new Set<number>();
    const ready = new Promise<void>((resolve, reject) => {
      pool.listener = (rank, m) => {
        if (m.type === 'loaded') {
          loaded.add(rank);
          if (loaded.size === spec.size) resolve();
        } else if (m.type === 'load_error') {
          const msg =
            m.who === 'submission'
              ? `your code could not be loaded on rank ${rank}: ${m.message}`
              : `internal: the project's rank tasks could not be loaded on rank ${rank}: ${m.message}`;
          reject(new RankFailure('load_error', msg, rank, m.stack));
        } else if (m.type === 'error') reject(pool.threadError(rank, m.error));
        else if (m.type === 'exit') reject(new RankFailure('rank_exit', `rank ${rank} exited (code ${m.code}) while loading your code`, rank));
      };
    });
    for (let rank = 0; rank < spec.size; rank++) {
      const init: WorkerInit = { rank, group: pool.group, tasks: toUrl(spec.tasks), entry: toUrl(spec.entry), clockBase: base };
      const w = new Worker(new URL('./worker.mjs', import.meta.url), {
        workerData: init,
        // The rank's thread registers the module hooks itself (worker.mjs), whatever flags the
        // process was started with.
        execArgv: [],
        resourceLimits: { maxOldGenerationSizeMb: spec.heapMb ?? 1024 },
        stdout: false,
        stderr: false,
      });
      w.on('message', (m: FromRank) => pool.listener?.(rank, m));
      w.on('error', (error) => pool.listener?.(rank, { type: 'error', error }));
      w.on('exit', (code) => {
        if (!pool.closed) pool.listener?.(rank, { type: 'exit', code });
      });
      pool.workers.push(w);
    }
    try {
      await ready;
    } catch (e) {
      await pool.close();
      throw e;
    }
    pool.idle();
    return pool;
  }

  threadError(rank: number, error: unknown): RankFailure {
    const e = error as { code?: string; name?: string; message?: string; stack?: string };
    if (e?.code === 'ERR_WORKER_OUT_OF_MEMORY')
      return new RankFailure('rank_error', `rank ${rank} ran out of memory (its thread's heap limit is ${this.spec.heapMb ?? 1024} MiB)`, rank);
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : `thrown value: ${String(error)}`;
    return new RankFailure('rank_error', `rank ${rank} failed outside its call (an uncaught error, e.g. in a timer or an unawaited promise): ${msg}`, rank, e?.stack ?? '');
  }

  /**
   * Sends each rank its input and runs the task's setup (not timed). inputs[r] goes to rank r,
   * by structured clone (typed arrays on a SharedArrayBuffer are shared, not copied).
   */
  async prepare(task: string, inputs: unknown[]): Promise<RankJob> {
    await this.pending;
    if (!this.usable) throw this.broken ?? new Error('internal: the pool is closed');
    if (inputs.length !== this.size) throw new RangeError(`internal: ${inputs.length} inputs for ${this.size} ranks`);
    const job = ++jobIds;
    const reset = new Set<number>();
    const prepared = new Set<number>();
    await new Promise<void>((resolve, reject) => {
      this.listener = (rank, m) => {
        if (m.type === 'reset_done' && m.job === job) {
          reset.add(rank);
          if (reset.size < this.size) return;
          // Every rank has moved on: nothing of an earlier job writes the shared words any more.
          resetGroup(this.group);
          for (let r = 0; r < this.size; r++) this.post(r, { type: 'prepare', job, task, input: inputs[r] });
        } else if (m.type === 'prepared' && m.job === job) {
          prepared.add(rank);
          if (prepared.size === this.size) resolve();
        } else if (m.type === 'failed' && m.job === job) reject(this.fail(new RankFailure('rank_error', `rank ${rank} failed while its inputs were set up: ${m.message}`, rank, m.stack)));
        else if (m.type === 'error') reject(this.fail(this.threadError(rank, m.error)));
        else if (m.type === 'exit') reject(this.fail(new RankFailure('rank_exit', `rank ${rank} exited (code ${m.code}) while its inputs were set up`, rank)));
      };
      for (let r = 0; r < this.size; r++) this.post(r, { type: 'reset', job });
    });
    return new RankJob(this, job);
  }

  post(rank: number, m: ToRank): void {
    this.workers[rank]!.postMessage(m);
  }

  /** Marks the pool broken and ends its threads; returns the failure to throw. */
  fail(f: RankFailure): RankFailure {
    this.broken ??= f;
    void this.close();
    return f;
  }

  setListener(l: RankPool['listener']): void {
    this.listener = l;
  }

  /** Between jobs: a thread that dies makes the pool unusable. */
  idle(): void {
    this.listener = (rank, m) => {
      if (m.type === 'error') this.broken ??= this.threadError(rank, m.error);
      else if (m.type === 'exit') this.broken ??= new RankFailure('rank_exit', `rank ${rank} exited (code ${m.code}) between jobs`, rank);
    };
  }

  /** The next job waits for this (the decision whether a pool whose job failed is kept). */
  hold(p: Promise<void>): void {
    this.pending = p;
  }

  /** Resolves once the pool is known to be usable or not. */
  async settled(): Promise<void> {
    await this.pending;
  }

  /** Ends every rank's thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listener = null;
    closedSinceGc = true;
    await Promise.all(this.workers.map((w) => w.terminate().catch(() => 0)));
  }
}

export class RankJob {
  private ran = false;

  constructor(
    readonly pool: RankPool,
    readonly id: number,
  ) {}

  /** Runs the prepared task on every rank at once; resolves with every rank's output. */
  async run<O = unknown>(): Promise<JobResult<O>> {
    if (this.ran) throw new Error('internal: a job runs once');
    this.ran = true;
    const pool = this.pool;
    if (!pool.usable) throw pool.broken ?? new Error('internal: the pool is closed');
    const n = pool.size;
    const done: (RankDone | undefined)[] = new Array(n);
    const settled = new Set<number>();
    let failure: RankFailure | null = null;
    let keep: (() => void) | null = null;
    let watchdog: Watchdog | null = null;
    let offStall = () => {};
    try {
      await new Promise<void>((resolve, reject) => {
        // A thread that dies, or a deadlock, ends the pool at once.
        const fatal = (f: RankFailure) => {
          failure ??= f;
          keep = null;
          reject(pool.fail(f));
        };
        // A rank whose call threw ends the job at once; the pool is kept if every other rank's
        // call also ends within a moment (they all threw, say), else its threads are ended.
        const thrown = (f: RankFailure) => {
          failure = f;
          reject(f);
          pool.hold(
            new Promise<void>((release) => {
              const timer = setTimeout(() => {
                keep = null;
                pool.fail(f);
                release();
              }, SETTLE_MS);
              keep = () => {
                clearTimeout(timer);
                keep = null;
                pool.idle();
                release();
              };
            }),
          );
          if (settled.size === n) keep!();
        };
        pool.setListener((rank, m) => {
          if ((m.type === 'done' || m.type === 'failed') && m.job === this.id) {
            settled.add(rank);
            if (m.type === 'done' && !failure) {
              done[rank] = m;
              if (settled.size === n) resolve();
            } else if (m.type === 'failed' && !failure) thrown(new RankFailure('rank_error', `rank ${rank} threw ${m.message}`, rank, m.stack));
            if (failure && settled.size === n) (keep as (() => void) | null)?.();
          } else if (m.type === 'error') fatal(pool.threadError(rank, m.error));
          else if (m.type === 'exit') fatal(new RankFailure('rank_exit', `rank ${rank} exited (code ${m.code}) in the middle of the case: do not call process.exit`, rank));
        });
        const dog = new Watchdog(pool.group, (message) => fatal(new RankFailure('deadlock', message)), pool.spec.watchdog ?? DEFAULT_WATCHDOG);
        watchdog = dog;
        watchdog.start();
        // Should the call run out of time, the parent asks what the ranks were doing.
        offStall = onStallReport(() => dog.describeNow());
        for (let r = 0; r < n; r++) pool.post(r, { type: 'run', job: this.id });
      });
    } finally {
      (watchdog as Watchdog | null)?.stop();
      offStall();
    }
    pool.idle();
    return { outputs: done.map((d) => d!.output as O), stats: groupStats(pool.group, done as RankDone[]) };
  }

  /** Drops the prepared state without running (when the call is abandoned). */
  discard(): void {
    if (this.ran || !this.pool.usable) return;
    this.ran = true;
    for (let r = 0; r < this.pool.size; r++) this.pool.post(r, { type: 'discard', job: this.id });
  }
}

function groupStats(g: SharedGroup, done: RankDone[]): GroupStats {
  const n = g.size;
  const c = new Float64Array(g.counters);
  const bytes = Array.from({ length: n }, (_, s) => Array.from({ length: n }, (_, d) => c[counterIndex(n, s, d, C_BYTES)]!));
  const messages = Array.from({ length: n }, (_, s) => Array.from({ length: n }, (_, d) => c[counterIndex(n, s, d, C_MESSAGES)]!));
  const unreceived: GroupStats['unreceived'] = [];
  for (let s = 0; s < n; s++)
    for (let d = 0; d < n; d++) {
      const left = messages[s]![d]! - c[counterIndex(n, s, d, C_RECEIVED)]!;
      if (left > 0) unreceived.push({ src: s, dst: d, messages: left });
    }
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  const timeline = done.flatMap((d) => d.timeline).sort((a, b) => a.t0 - b.t0);
  return {
    size: n,
    linkBytes: g.linkBytes,
    simdReduce: g.arenaMemories !== null,
    links: { bytes, messages },
    bytesSent: bytes.map(sum),
    messagesSent: messages.map(sum),
    bytesReceived: Array.from({ length: n }, (_, d) => sum(bytes.map((row) => row[d]!))),
    unreceived,
    spanMs: Math.max(...done.map((d) => d.endMs)) - Math.min(...done.map((d) => d.startMs)),
    ranks: done.map((d) => ({ startMs: d.startMs, endMs: d.endMs, vclock: d.vclock, memory: d.memory, traffic: d.traffic })),
    timeline,
    timelineDropped: sum(done.map((d) => d.dropped)),
  };
}

// ---- pools kept between calls --------------------------------------------------------------

/**
 * Threads kept alive across calls (pools of other sizes are closed beyond this). Each rank's
 * thread reserves about 1.2 GiB of address space, plus its arena: the sandbox bounds the sum.
 */
const MAX_CACHED_THREADS = 16;
const cache = new Map<string, RankPool>();
let closedSinceGc = false;

/**
 * The shared memory of closed pools is given back when the main thread's garbage collector
 * finds it unreferenced: collected at once (the driver runs with --expose-gc), before more
 * address space is reserved.
 */
function collectClosed(): void {
  if (!closedSinceGc) return;
  closedSinceGc = false;
  (globalThis as { gc?: () => void }).gc?.();
}

function keyOf(s: PoolSpec): string {
  return JSON.stringify([toUrl(s.entry), toUrl(s.tasks), s.size, s.linkBytes ?? DEFAULT_LINK_BYTES, s.arenaBytes ?? DEFAULT_ARENA_BYTES, s.heapMb ?? 1024]);
}

/**
 * A pool for this spec, reused across calls while it stays healthy (each rank's copy of the
 * submission keeps its module state, as one long-lived process would). Least recently used
 * pools are closed when more than 16 threads would be kept.
 */
export async function getPool(spec: PoolSpec): Promise<RankPool> {
  const key = keyOf(spec);
  const have = cache.get(key);
  await have?.settled();
  if (have?.usable) {
    cache.delete(key);
    cache.set(key, have); // most recently used last
    return have;
  }
  if (have) {
    cache.delete(key);
    await have.close();
  }
  let threads = spec.size;
  for (const p of cache.values()) threads += p.size;
  for (const [k, p] of [...cache]) {
    if (threads <= MAX_CACHED_THREADS) break;
    cache.delete(k);
    threads -= p.size;
    await p.close();
  }
  collectClosed();
  const pool = await RankPool.open(spec);
  cache.set(key, pool);
  return pool;
}

/** Closes every kept pool. */
export async function closePools(): Promise<void> {
  const all = [...cache.values()];
  cache.clear();
  await Promise.all(all.map((p) => p.close()));
}

/** One job start to end: pool (kept), prepare, run. */
export async function runRanks<O = unknown>(spec: PoolSpec & { task: string; inputs: unknown[] }): Promise<JobResult<O>> {
  const pool = await getPool(spec);
  const job = await pool.prepare(spec.task, spec.inputs);
  return job.run<O>();
}

/**
 * The memory-copy bandwidth between the pool's threads: every rank copies `bytes` out of its
 * left neighbour's memory at the same time, `reps` times. GB/s per rank (median over ranks):
 * the physical limit of this transport, against which collectives' bus bandwidth is read.
 */
export async function copyBandwidth(pool: RankPool, bytes: number, reps = 3): Promise<{ gbps: number; msPerCopy: number }> {
  if (bytes * 2 > (pool.spec.arenaBytes ?? DEFAULT_ARENA_BYTES)) throw new RangeError(`copyBandwidth: ${bytes} bytes do not fit twice in a rank's arena`);
  const job = await pool.prepare('$copyBandwidth', Array.from({ length: pool.size }, () => ({ bytes, reps })));
  const r = await job.run<{ ms: number }>();
  const ms = r.outputs.map((o) => o.ms).sort((a, b) => a - b)[r.outputs.length >> 1]!;
  return { gbps: bytes / (ms * 1e6), msPerCopy: ms };
}

