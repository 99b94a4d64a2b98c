// One rank's thread: builds the rank's communicator on the group's shared memory, loads the
// project's rank tasks and then the submission, and runs jobs the main thread sends it. The
// clock and the intrinsics the transport uses are captured before any submission code loads.
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { Comm, RankCore } from './comm.ts';
import { R_PING, R_PONG, R_STATUS, rankWord, STATUS_DONE, STATUS_FAILED, STATUS_RUNNING, type SharedGroup } from './layout.ts';
import type { RankContext, RankTasks, Submission } from './api.ts';
import type { FromRank, ToRank, WorkerInit } from './protocol.ts';
import { stdioFlushed } from '../flush.ts';

const hrtime = process.hrtime.bigint.bind(process.hrtime);
const memoryUsage = process.memoryUsage.bind(process);
const collect = (globalThis as { gc?: () => void }).gc;
const A_load = Atomics.load;
const A_store = Atomics.store;
const A_waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number): { async: boolean; value: unknown } }).waitAsync;

const init = workerData as WorkerInit;
const port = parentPort!;
const base = BigInt(init.clockBase);
const nowMs = () => Number(hrtime() - base) / 1e6;
const g: SharedGroup = init.group;
const rank = init.rank;
const core = new RankCore(g, rank, nowMs);
const comm = new Comm(core);
const ctrl = new Int32Array(g.ctrl);

function post(m: FromRank): void {
  port.postMessage(m);
}

function describe(e: unknown): { message: string; stack: string } {
  if (e instanceof Error) return { message: `${e.name}: ${e.message}`, stack: String(e.stack ?? '') };
  return { message: `thrown value: ${String(e)}`, stack: '' };
}

// Answers the watchdog's pings whenever this thread's event loop is free: a rank that is busy
// computing does not answer, so it is never taken for a deadlocked one.
function answerPings(): void {
  const i = rankWord(g.size, rank, R_PING);
  const v = A_load(ctrl, i);
  A_store(ctrl, rankWord(g.size, rank, R_PONG), v);
  const r = A_waitAsync(ctrl, i, v);
  if (r.async) void (r.value as Promise<unknown>).then(answerPings);
  else setImmediate(answerPings);
}
answerPings();

let baseline = 0;
function arrayBufferBytes(): number {
  collect?.();
  collect?.();
  return memoryUsage().arrayBuffers;
}

const ctx: RankContext = Object.freeze({
  rank,
  size: g.size,
  nowMs,
  traffic: () => core.traffic(),
  memory: () => core.memory(),
  resetPeak: () => core.resetPeak(),
  memoryBaseline: () => {
    baseline = arrayBufferBytes() - core.plainBytes;
  },
  // Arrays in the arena are outside this thread's ArrayBuffer figure; plain ones from alloc are in it.
  untrackedBytes: () => arrayBufferBytes() - baseline - core.plainBytes,
  alloc: (n: number, dtype: 'float32' | 'float64' | 'int32' | 'uint8' = 'float32') => core.alloc(n, dtype, 'harness', false),
  free: (a: unknown) => core.free(a),
  vtime: () => core.vclock,
  advance: (units: number) => {
    if (!(units >= 0)) throw new RangeError(`advance: ${units} is not a non-negative number of units`);
    core.vclock += units;
  },
});

/**
 * Built-in tasks of the harness. '$copyBandwidth': every rank copies `bytes` out of its left
 * neighbour's arena into its own at once, `reps` times: the memory-copy bandwidth between
 * threads, the physical limit of this transport (a message from an arena is one such copy).
 */
const builtin: RankTasks = {
  tasks: {
    $copyBandwidth: {
      setup: (_sub, _comm, input: { bytes: number; reps: number }) => {
        const src = core.alloc(input.bytes, 'uint8', 'harness', false) as Uint8Array;
        const dst = core.alloc(input.bytes, 'uint8', 'harness', false) as Uint8Array;
        src.fill(rank + 1);
        dst.fill(0);
        return { ...input, at: dst.byteOffset, src };
      },
      run: async (_sub, _comm, st: { bytes: number; reps: number; at: number; src: Uint8Array }) => {
        const left = (rank - 1 + g.size) % g.size;
        await core.barrier();
        const t0 = nowMs();
        for (let i = 0; i < st.reps; i++) core.copyFromArena(left, st.bytes, st.at);
        const ms = (nowMs() - t0) / st.reps;
        await core.barrier();
        return { ms };
      },
    },
  },
};

let tasks: RankTasks;
let sub: Submission;
let current: { job: number; task: string; state: unknown } | null = null;

function setStatus(s: number): void {
  A_store(ctrl, rankWord(g.size, rank, R_STATUS), s);
}

async function handle(m: ToRank): Promise<void> {
  if (m.type === 'reset') {
    // From here on, an operation left over from an earlier job stops at its next step: the main
    // thread then clears the shared words, safe from late writes.
    current = null;
    core.resetForJob();
    post({ type: 'reset_done', job: m.job });
  } else if (m.type === 'prepare') {
    current = null;
    try {
      const task = builtin.tasks[m.task] ?? tasks.tasks[m.task];
      if (!task) throw new Error(`internal: the project has no rank task '${m.task}'`);
      baseline = 0;
      const state = task.setup ? await task.setup(sub, comm, m.input, ctx) : m.input;
      current = { job: m.job, task: m.task, state };
      post({ type: 'prepared', job: m.job });
    } catch (e) {
      setStatus(STATUS_FAILED);
      post({ type: 'failed', job: m.job, phase: 'setup', ...describe(e) });
    }
  } else if (m.type === 'run') {
    const c = current;
    current = null;
    if (!c || c.job !== m.job) {
      post({ type: 'failed', job: m.job, phase: 'run', message: `internal: job ${m.job} was not prepared on rank ${rank}`, stack: '' });
      return;
    }
    setStatus(STATUS_RUNNING);
    const startMs = nowMs();
    try {
      const output = await (builtin.tasks[c.task] ?? tasks.tasks[c.task])!.run(sub, comm, c.state, ctx);
      const endMs = nowMs();
      setStatus(STATUS_DONE);
      await stdioFlushed(); // what the rank printed goes before its result, under this case
      post({
        type: 'done',
        job: m.job,
        output,
        startMs,
        endMs,
        vclock: core.vclock,
        memory: core.memory(),
        traffic: core.traffic(),
        timeline: core.timeline,
        dropped: core.dropped,
      });
    } catch (e) {
      setStatus(STATUS_FAILED);
      await stdioFlushed();
      post({ type: 'failed', job: m.job, phase: 'run', ...describe(e) });
    }
  } else if (m.type === 'discard') {
    current = null;
  }
}

async function main(): Promise<void> {
  try {
    tasks = ((await import(init.tasks)) as { default: RankTasks }).default;
  } catch (e) {
    post({ type: 'load_error', who: 'harness', ...describe(e) });
    return;
  }
  isolate();
  try {
    sub = (await import(init.entry)) as Submission;
  } catch (e) {
    post({ type: 'load_error', who: 'submission', ...describe(e) });
    return;
  }
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (m: ToRank) => {
    queue = queue.then(() => handle(m));
  });
  post({ type: 'loaded' });
}

// The submission talks to other ranks through its communicator only: the thread's other ways
// of reaching another thread are taken away before it loads.
function isolate(): void {
  const wt = createRequire(import.meta.url)('node:worker_threads') as Record<string, unknown>;
  for (const k of ['parentPort', 'BroadcastChannel', 'MessageChannel', 'MessagePort', 'Worker', 'workerData', 'receiveMessageOnPort', 'moveMessagePortToContext']) {
    try {
      wt[k] = k === 'parentPort' || k === 'workerData' ? null : undefined;
    } catch {
      /* not writable */
    }
  }
  syncBuiltinESMExports();
  for (const k of ['BroadcastChannel', 'MessageChannel', 'MessagePort']) {
    try {
      delete (globalThis as Record<string, unknown>)[k];
    } catch {
      /* not configurable */
    }
  }
}

void main();
