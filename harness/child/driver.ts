// The TypeScript driver: the first speaker of the protocol in PROTOCOL.md. It runs in the
// submission's process (sandboxed by the runner), loads the project's child module and the
// submission, and answers the parent's calls. It never sees expected outputs.
import { nowMs } from './clock.ts'; // first: clocks are captured before anything else loads
import { Socket } from 'node:net';
import { pathToFileURL } from 'node:url';
import { Bench } from 'tinybench';
import { encodeFrame, FrameReader } from '../protocol/frame.ts';
import type { Record_, Value } from '../protocol/values.ts';
import path from 'node:path';
import { BadOutputError, DEVICE_DURATION_KEY, type ChildContext, type ChildProject, type Submission } from './api.ts';
import { startTensorRuntime, type BackendName, type TensorRuntime } from './tensor-runtime.ts';
import { stallReport } from './stall.ts';
import { stdioFlushed } from './flush.ts';

// Deep enough to reach the submission's own frames below a library's (a tfjs op raises an error
// ten or more frames down); the parent keeps only the submission's (Impl.clean).
Error.stackTraceLimit = 64;

const REQ_FD = 3;
const RES_FD = 4;

// Pipes are opened as sockets (event-driven): a blocking fs read on a pipe would hold a
// thread-pool thread and keep process.exit from ever finishing.
const out = new Socket({ fd: RES_FD, readable: false, writable: true });
function send(msg: Value): Promise<void> {
  return new Promise((resolve, reject) => out.write(encodeFrame(msg), (e) => (e ? reject(e) : resolve())));
}

/** Known runtime errors whose own message does not say what to do. */
function hint(message: string): string {
  if (/OffscreenCanvas is not defined/.test(message))
    return ' (a synchronous read such as dataSync(), arraySync() or a CPU fallback of a kernel at rank > 4 is not supported by the webgpu backend in Node: use await t.data(), keep tensors at rank <= 4)';
  return '';
}

function describeError(e: unknown): { message: string; stack: string } {
  if (e instanceof Error) return { message: `${e.name}: ${e.message}${hint(e.message)}`, stack: String(e.stack ?? '') };
  return { message: `thrown value: ${String(e)}`, stack: '' };
}

let project: ChildProject | null = null;
let sub: Submission | null = null;
let ctx: ChildContext | null = null;
let currentCall: number | null = null;
/** Whether the call in progress is timed (phases are not sent then: a write would be timed too). */
let timedCall = false;
let lastPhase: string | null = null;

/** ChildContext.phase: a `phase` message for the call in progress, when it changes. */
function phase(what: string): void {
  if (currentCall === null || timedCall || what === lastPhase) return;
  lastPhase = what;
  void send({ type: 'phase', id: currentCall, text: what.slice(0, 200) });
}
/** Values the parent sent once (`put`), referred to by key in later calls. */
const store = new Map<string, Value>();

function resolveRefs(v: Value): Value {
  if (Array.isArray(v)) return v.map(resolveRefs);
  if (v === null || typeof v !== 'object' || ArrayBuffer.isView((v as { data?: unknown }).data)) return v;
  const o = v as Record<string, Value>;
  if (typeof o.$ref === 'string' && Object.keys(o).length === 1) {
    if (!store.has(o.$ref)) throw new Error(`internal: no shared value '${o.$ref}'`);
    return store.get(o.$ref)!;
  }
  const out: Record<string, Value> = {};
  for (const [k, x] of Object.entries(o)) out[k] = resolveRefs(x);
  return out;
}

async function hello(m: Record<string, Value>): Promise<void> {
  project = ((await import(pathToFileURL(String(m.projectChild)).href)) as { default: ChildProject }).default;
  let rt: TensorRuntime | null = null;
  if (project.runtime === 'tfjs') rt = await startTensorRuntime(String(m.backend) as BackendName);
  const setup = project.setup ? await project.setup({ backend: String(m.backend) }) : null;
  const entryUrl = pathToFileURL(String(m.entry)).href;
  ctx = { rt: rt as TensorRuntime, nowMs, resources: setup?.resources ?? null, submissionDir: path.dirname(String(m.entry)), entryUrl, phase };
  // From here on, a failure to load belongs to the submission, not to the machine.
  await send({ type: 'runtime_ready' });
  try {
    sub = (await import(entryUrl)) as Submission;
  } catch (e) {
    await send({ type: 'load_error', ...describeError(e) });
    return;
  }
  const missing: Record<string, string[]> = {};
  for (const [id, t] of Object.entries(project.tasks)) {
    const miss = t.exports.filter((name) => typeof sub![name] !== 'function' && typeof sub![name] !== 'object');
    if (miss.length) missing[id] = miss;
  }
  await send({
    type: 'ready',
    backend: rt?.backend ?? (setup ? String(m.backend) : 'none'),
    device: { ...(rt?.device ?? {}), ...(setup?.device ?? {}) },
    missing,
    exports: Object.keys(sub).sort(),
  });
}

/** The device-clock duration an invoke reported, removed from its outputs; null if none. */
function takeDeviceDuration(o: Record_): number | null {
  const d = o[DEVICE_DURATION_KEY];
  if (d === undefined) return null;
  delete o[DEVICE_DURATION_KEY];
  return typeof d === 'number' && d >= 0 ? d : null;
}

/** Exits once what the submission printed has reached the pipes. */
async function flushAndExit(): Promise<void> {
  await stdioFlushed();
  process.exit(0);
}

/** A call's reply, sent after what the call printed (the harness labels output by call). */
async function reply(msg: Value): Promise<void> {
  await stdioFlushed();
  await send(msg);
}

async function call(m: Record<string, Value>): Promise<void> {
  const id = Number(m.id);
  currentCall = id;
  timedCall = m.mode === 'measure';
  lastPhase = null;
  const c = ctx!;
  try {
    const task = project!.tasks[String(m.task)];
    if (!task) throw new Error(`internal: the project has no child task '${String(m.task)}'`);
    m = { ...m, inputs: resolveRefs(m.inputs!) };
    const before = c.rt ? c.rt.memory().tensors : 0;
    if (m.mode === 'measure') {
      const pool = m.inputs as Record_[];
      const n = Number(m.iterations);
      const outputs: Record_[] = [];
      let i = 0;
      let args: unknown;
      const bench = new Bench({ now: nowMs, iterations: n, time: 0, warmup: false, retainSamples: true, throws: true });
      bench.add(
        String(m.task),
        async () => {
          const o = await task.invoke(sub!, args, c);
          const d = takeDeviceDuration(o);
          outputs.push(o);
          return d === null ? undefined : { overriddenDuration: d };
        },
        {
          beforeEach: async () => {
            // Collect garbage outside the timed region, so that a pause left by the previous
            // call does not land in this one (the driver runs with --expose-gc).
            (globalThis as { gc?: () => void }).gc?.();
            args = await task.prepare(pool[i++ % pool.length]!, c);
          },
          afterEach: () => task.release?.(args, c),
        },
      );
      const t0 = nowMs();
      await bench.run();
      const wall = nowMs() - t0;
      const r = bench.tasks[0]!.result;
      if (r.state === 'errored') throw r.error;
      if (r.state !== 'completed') throw new Error(`measurement ended early (${r.state})`);
      const samples = [...(r.latency.samples ?? [])];
      const leaked = c.rt ? c.rt.memory().tensors - before : 0;
      await reply({ type: 'result', id, outputs, samples_ms: samples, wall_ms: wall, leaked_tensors: leaked });
    } else {
      const args = await task.prepare(m.inputs as Record_, c);
      let outputs: Record_;
      let peak: number | null = null;
      const t0 = nowMs();
      if (m.memory && c.rt) {
        const r = await c.rt.peakBytes(() => task.invoke(sub!, args, c));
        outputs = r.result;
        peak = r.peakBytes;
      } else {
        outputs = await task.invoke(sub!, args, c);
      }
      const device = takeDeviceDuration(outputs);
      const ms = device ?? nowMs() - t0;
      task.release?.(args, c);
      const leaked = c.rt ? c.rt.memory().tensors - before : 0;
      await reply({ type: 'result', id, outputs, ms, peak_bytes: peak, leaked_tensors: leaked });
    }
  } catch (e) {
    const kind = e instanceof BadOutputError ? 'bad_output' : 'exception';
    await reply({ type: 'error', id, kind, ...describeError(e) });
  } finally {
    currentCall = null;
  }
}

// A throw that escapes the call (a stray timer, an unhandled rejection) still belongs to the
// call in progress, if any; the parent decides what happens next.
for (const ev of ['uncaughtException', 'unhandledRejection'] as const) {
  process.on(ev, (e: unknown) => {
    void send({ type: 'fatal', id: currentCall, ...describeError(e) }).finally(() => process.exit(70));
  });
}

const reader = new FrameReader({ maxFrameBytes: 2 ** 31 - 1, maxTensorBytes: 2 ** 31 - 1 });
let queue: Promise<void> = Promise.resolve();
new Socket({ fd: REQ_FD, readable: true, writable: false })
  .on('data', (chunk) => {
    for (const msg of reader.push(chunk as Buffer)) {
      const m = msg as Record<string, Value>;
      // Answered at once, beside the call in progress (which is what it asks about).
      if (m.type === 'status') {
        void stallReport().then((text) => send({ type: 'status', id: m.id ?? null, text }));
        continue;
      }
      queue = queue.then(async () => {
        if (m.type === 'hello') await hello(m);
        else if (m.type === 'put') store.set(String(m.key), m.value!);
        else if (m.type === 'call') await call(m);
        else if (m.type === 'bye') await flushAndExit();
      });
      queue.catch(async (e) => {
        await send({ type: 'fatal', id: currentCall, ...describeError(e) });
        process.exit(70);
      });
    }
  })
  .on('end', () => process.exit(0));
