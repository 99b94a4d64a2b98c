// One submission process: started through a launcher, spoken to over the protocol's two pipes
// (fd 3 requests, fd 4 replies), killed as a whole process group. Every way it can go wrong
// comes back as an outcome with a kind and a message, never as an exception in the harness.
import { execa } from 'execa';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { encodeFrame, FrameError, FrameReader } from '../protocol/frame.ts';
import { formatBytes } from '../bytes.ts';
import type { Value } from '../protocol/values.ts';
import type { Launcher, LaunchSpec } from './launcher.ts';
import { CappedOutput } from './output-cap.ts';

export type FaultKind =
  | 'exception'
  | 'bad_output'
  | 'timeout'
  | 'crash'
  | 'out_of_memory'
  | 'exit'
  | 'protocol'
  | 'output_flood';

export type CallOutcome =
  | { ok: true; reply: Record<string, Value>; wallMs: number }
  | { ok: false; kind: FaultKind; message: string; wallMs: number };

export type StartOutcome =
  | { ok: true; ready: Record<string, Value> }
  | { ok: false; fault: 'submission' | 'harness'; message: string };

/**
 * bubblewrap reports a signal that ended the process it runs as exit code 128 + n: turned back
 * into the signal, so that a sandboxed crash (SIGSEGV...) or CPU limit (SIGXCPU) is classified
 * as it is without the sandbox instead of as a plain exit.
 */
function signalFromSandboxExit(code: number | null, signal: string | null): { code: number | null; signal: string | null } {
  if (signal || code === null || code <= 128 || code > 128 + 64) return { code, signal };
  const name = Object.entries(osConstants.signals).find(([, n]) => n === code - 128)?.[0];
  return name ? { code: null, signal: name } : { code, signal };
}

const live = new Set<SubmissionProcess>();
function killAll(): void {
  for (const p of live) p.kill();
}
process.once('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killAll();
    // After the other listeners of the signal (a batch says how to resume, then exits itself).
    setImmediate(() => process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 1)));
  });
}

/** What this file uses of execa's subprocess (its full type depends on the options). */
type ChildLike = Promise<{ exitCode?: number; signal?: string }> & {
  pid?: number;
  stdout: Readable | null;
  stderr: Readable | null;
  stdio: (Readable | Writable | null)[];
  once(ev: 'exit', f: (code: number | null, signal: string | null) => void): unknown;
  kill(signal?: NodeJS.Signals): boolean;
};

interface Waiter {
  resolve(msg: Record<string, Value> | null): void;
}

const WINDOWS = process.platform === 'win32';

/** How long a process whose call timed out has to say what it was doing, before it is killed. */
const STATUS_WAIT_MS = 1500;

const ALLOCATION_FAILED = /^RangeError: (Array buffer allocation failed|.*\bOut of memory\b)/i;

export class SubmissionProcess {
  readonly stdout = new CappedOutput();
  readonly stderr = new CappedOutput();
  private child!: ChildLike;
  private reader = new FrameReader({ maxFrameBytes: 1 << 30, maxTensorBytes: 1 << 30 });
  private inbox: Record<string, Value>[] = [];
  private waiter: Waiter | null = null;
  private exited: { code: number | null; signal: string | null } | null = null;
  private protocolError: string | null = null;
  private nextId = 1;
  /** Keys of shared values this process already holds. */
  private sharedSent = new Set<string>();
  private killedByUs = false;

  private oomKilled = false;

  private constructor(private readonly launcher: Launcher) {}

  get sandboxed(): boolean {
    return this.launcher.sandboxed;
  }

  /**
   * Output that arrives from now on is shown under a line naming `what` (a case). The process
   * writes what a call printed before its reply, but both pipes can be read in the same turn of
   * the event loop, the reply first: one turn is let pass so that such output keeps its call's label.
   */
  async labelOutput(what: string): Promise<void> {
    await new Promise((r) => setImmediate(r));
    this.stdout.label(what);
    this.stderr.label(what);
  }

  static async start(
    launcher: Launcher,
    spec: LaunchSpec,
    hello: Record<string, Value>,
    loadTimeoutMs: number,
  ): Promise<{ proc: SubmissionProcess; outcome: StartOutcome }> {
    const p = new SubmissionProcess(launcher);
    const cmd = launcher.command(spec);
    try {
      p.child = execa(cmd.file, cmd.args, {
        cwd: cmd.cwd,
        env: cmd.env,
        extendEnv: false,
        stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'],
        // Its own process group, killed as a whole. Windows has no process groups (and a detached
        // child there gets a console window of its own): it is killed by its handle instead.
        detached: !WINDOWS,
        buffer: false,
        reject: false,
        encoding: 'buffer',
        cleanup: false,
      }) as unknown as ChildLike;
    } catch (e) {
      return { proc: p, outcome: { ok: false, fault: 'harness', message: `could not start the submission's process: ${String(e)}` } };
    }
    live.add(p);
    p.child.stdout!.on('data', (c: Buffer) => p.stdout.push(c));
    p.child.stderr!.on('data', (c: Buffer) => p.stderr.push(c));
    const res = p.child.stdio[4] as NodeJS.ReadableStream;
    res.on('data', (c: Buffer) => {
      try {
        for (const m of p.reader.push(c)) p.deliver(m as Record<string, Value>);
      } catch (e) {
        p.protocolError = e instanceof FrameError ? e.message : String(e);
        p.kill();
      }
    });
    const req = p.child.stdio[3] as NodeJS.WritableStream;
    req.on('error', () => {}); // a dead child closes the pipe; the exit is reported instead
    // 'exit' as soon as the process ends (execa's promise also waits for every pipe to close).
    p.child.once('exit', (code: number | null, signal: string | null) => {
      p.oomKilled = cmd.oomKilled?.() ?? false; // read before the group is removed
      cmd.cleanup?.();
      p.exited = launcher.sandboxed ? signalFromSandboxExit(code, signal) : { code, signal };
      live.delete(p);
      p.deliver(null);
    });
    void p.child.catch(() => {});

    const t0 = performance.now();
    p.send({ ...hello, type: 'hello' });
    const first = await p.receive(loadTimeoutMs);
    if (first?.type === 'runtime_ready') {
      const second = await p.receive(loadTimeoutMs - (performance.now() - t0));
      if (second?.type === 'ready') return { proc: p, outcome: { ok: true, ready: second } };
      if (second?.type === 'load_error')
      {
        const stack = String(second.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).join('\n');
        return { proc: p, outcome: { ok: false, fault: 'submission', message: `your code could not be loaded: ${String(second.message)}${stack ? `\n${stack}` : ''}` } };
      }
      p.kill();
      return { proc: p, outcome: { ok: false, fault: 'submission', message: `while loading your code: ${p.describeDeath(second, loadTimeoutMs)}` } };
    }
    p.kill();
    const why = first?.type === 'fatal' ? String(first.message) : p.describeDeath(first, loadTimeoutMs);
    return {
      proc: p,
      outcome: { ok: false, fault: 'harness', message: `the harness's driver did not start: ${why}\n${p.stderr.text().slice(-2000)}` },
    };
  }

  private deliver(m: Record<string, Value> | null): void {
    if (m) this.inbox.push(m);
    const w = this.waiter;
    if (w && (this.inbox.length || this.exited)) {
      this.waiter = null;
      w.resolve(this.inbox.shift() ?? null);
    }
  }

  /** The next message, or null when the process died or the time ran out. */
  private receive(timeoutMs: number): Promise<Record<string, Value> | null> {
    if (this.inbox.length) return Promise.resolve(this.inbox.shift()!);
    if (this.exited) return Promise.resolve(null);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, Math.max(1, timeoutMs));
      this.waiter = {
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
      };
    });
  }

  /** Sends each shared value this process does not hold yet, and refers to it by key. */
  private hoistShared(v: Value): Value {
    if (Array.isArray(v)) return v.map((x) => this.hoistShared(x));
    if (v === null || typeof v !== 'object' || ArrayBuffer.isView((v as { data?: unknown }).data)) return v;
    const o = v as Record<string, Value>;
    if (typeof o.$shared === 'string' && 'value' in o) {
      if (!this.sharedSent.has(o.$shared)) {
        this.send({ type: 'put', key: o.$shared, value: o.value! });
        this.sharedSent.add(o.$shared);
      }
      return { $ref: o.$shared };
    }
    const out: Record<string, Value> = {};
    for (const [k, x] of Object.entries(o)) out[k] = this.hoistShared(x);
    return out;
  }

  private send(msg: Value): void {
    (this.child.stdio[3] as NodeJS.WritableStream).write(encodeFrame(msg));
  }

  get alive(): boolean {
    return !this.exited && !this.killedByUs;
  }

  /** Explains why no reply came: the process's end, a flood, or the timeout. */
  private describeDeath(last: Record<string, Value> | null | undefined, timeoutMs: number): string {
    if (last?.type === 'fatal') return `uncaught error: ${String(last.message)}`;
    if (this.protocolError) return `the process wrote a malformed message on the harness's channel (${this.protocolError})`;
    if (!this.exited) return `no answer within ${(timeoutMs / 1000).toFixed(1)} s`;
    const { code, signal } = this.exited;
    return signal ? `the process was killed by ${signal}` : `the process exited with code ${code}`;
  }

  private classifyDeath(last: Record<string, Value> | null, timeoutMs: number): { kind: FaultKind; message: string } {
    // What the process wrote, without the harness's own labels (a case id is not a message).
    const err = this.stderr
      .text()
      .split('\n')
      .filter((l) => !/^--- .* ---$/.test(l))
      .join('\n');
    if (last?.type === 'fatal') return { kind: 'exception', message: `uncaught error during the case: ${String(last.message)}` };
    if (this.protocolError) return { kind: 'protocol', message: this.describeDeath(last, timeoutMs) };
    // Once the time ran out, the case is a timeout, whatever the process did while it was asked
    // what it was doing (a fatal error, an exit) before it was killed.
    if (this.timedOut) return { kind: 'timeout', message: `timed out: no answer within ${(timeoutMs / 1000).toFixed(1)} s (the process was killed)` };
    if (this.oomKilled) {
      const limit = this.launcher.memoryBytes ? ` (${formatBytes(this.launcher.memoryBytes)})` : '';
      return { kind: 'out_of_memory', message: `ran out of memory: the sandbox's memory limit${limit} was reached and the process was killed` };
    }
    if (/heap out of memory|Allocation failed|Cannot allocate memory|RangeError: Array buffer allocation failed|std::bad_alloc|Out of memory|OOM/i.test(err))
      return { kind: 'out_of_memory', message: `ran out of memory (${this.describeDeath(last, timeoutMs)})` };
    const { code, signal } = this.exited ?? { code: null, signal: null };
    if (signal === 'SIGXCPU' || (signal === 'SIGKILL' && !this.killedByUs))
      return { kind: 'timeout', message: `hit the CPU-time or wall-clock limit and was killed (${signal})` };
    if (signal) return { kind: 'crash', message: `the process crashed (${signal})` };
    if (code === 0) return { kind: 'exit', message: 'the process exited (code 0) in the middle of the case: do not call process.exit' };
    return { kind: 'exit', message: `the process exited with code ${code} in the middle of the case` };
  }

  private timedOut = false;

  /** Sends one call and waits for its reply, the process's end, or the timeout. */
  async call(msg: Record<string, Value>, timeoutMs: number): Promise<CallOutcome> {
    const id = this.nextId++;
    const t0 = performance.now();
    if (!this.alive) return { ok: false, kind: 'crash', message: 'the process is no longer running', wallMs: 0 };
    this.send({ ...(this.hoistShared(msg) as Record<string, Value>), type: 'call', id });
    // What the child last said the call was doing (`phase`), for a timeout's message.
    let phase: string | null = null;
    for (;;) {
      const left = timeoutMs - (performance.now() - t0);
      // Past the deadline, nothing more is read: a child that floods the channel with other
      // messages (phases, stale replies) cannot hold the call open.
      const m = left > 0 ? await this.receive(left) : null;
      const wallMs = performance.now() - t0;
      if (m && (m.type === 'result' || m.type === 'error') && m.id === id) {
        if (m.type === 'result') return { ok: true, reply: m, wallMs };
        const stack = String(m.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).join('\n');
        // An allocation that failed (an ArrayBuffer or WebAssembly memory past the sandbox's
        // address-space limit) is thrown as a RangeError, not a crash: it is out_of_memory, and
        // the process, which may still hold what it allocated, is not used for the next case.
        if (m.kind !== 'bad_output' && ALLOCATION_FAILED.test(String(m.message))) {
          this.kill();
          await this.waitExit(2000);
          const where = phase ? `\nwhen the memory ran out, the call was in: ${phase}` : '';
          return { ok: false, kind: 'out_of_memory', message: `ran out of memory: ${String(m.message)}${where}` + (stack ? `\n${stack}` : ''), wallMs };
        }
        const kind = m.kind === 'bad_output' ? 'bad_output' : 'exception';
        return { ok: false, kind, message: String(m.message) + (stack ? `\n${stack}` : ''), wallMs };
      }
      if (m?.type === 'phase' && m.id === id) {
        phase = String(m.text ?? '').slice(0, 200);
        continue;
      }
      if (m && m.type !== 'fatal') continue; // a stale reply: ignore
      let doing: string | null = null;
      if (!m && !this.exited) {
        this.timedOut = true;
        doing = await this.askStatus(id);
        this.kill();
        await this.waitExit(2000);
      } else if (m?.type === 'fatal') {
        this.kill();
        await this.waitExit(2000);
      }
      const d = this.classifyDeath(m, timeoutMs);
      if (d.kind === 'timeout' && phase) d.message += `\nwhen the time ran out, the call was in: ${phase}`;
      if (d.kind === 'out_of_memory' && phase) d.message += `\nwhen the memory ran out, the call was in: ${phase}`;
      if (d.kind === 'timeout' && doing) d.message += `\n${doing}`;
      if (this.stdout.flooded || this.stderr.flooded) {
        if (d.kind !== 'timeout') return { ok: false, kind: d.kind, message: d.message, wallMs };
      }
      return { ok: false, ...d, wallMs };
    }
  }

  /**
   * Asks a process whose call ran out of time what it is doing (`status`, PROTOCOL.md), for the
   * timeout's message. Only a process whose main thread is free answers (the ranks' runtime, say);
   * the child's text is the submission's process's word, kept short.
   */
  private async askStatus(id: number, ms = STATUS_WAIT_MS): Promise<string | null> {
    if (!this.alive) return null;
    this.send({ type: 'status', id });
    const t0 = performance.now();
    for (;;) {
      const left = ms - (performance.now() - t0);
      if (left <= 0) return null; // however many other messages keep coming
      const m = await this.receive(left);
      if (!m || m.type === 'fatal') return null;
      if (m.type === 'status' && m.id === id) return typeof m.text === 'string' && m.text ? m.text.slice(0, 4000) : null;
    }
  }

  private async waitExit(ms: number): Promise<void> {
    if (this.exited) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      this.child.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  kill(): void {
    this.killedByUs = true;
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      if (WINDOWS) this.child.kill('SIGKILL');
      else process.kill(-pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }

  async stop(): Promise<void> {
    if (this.alive) {
      try {
        this.send({ type: 'bye' });
      } catch {
        /* closed */
      }
      await this.waitExit(1000);
    }
    this.kill();
    await this.waitExit(2000);
    live.delete(this);
  }
}
