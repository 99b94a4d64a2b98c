// The deadlock watchdog, in the process's main thread while a job runs. A deadlock is declared
// when every rank still running waits in the communicator (recv, send on a full link, barrier),
// none of those waits can be met by what is in the links now, nothing has moved for a while,
// and every one of those ranks answers a ping, i.e. its event loop is idle (a rank busy
// computing does not answer, and may still send). The message says which ranks wait on which.
import {
  G_BARRIER_GEN,
  G_PROGRESS,
  globalWord,
  L_ACK_WAIT,
  L_ACKED,
  L_READ,
  L_RECV_NEED,
  L_SEND_NEED,
  L_WRITE,
  linkWord,
  R_BARRIER_WAIT,
  R_PING,
  R_PONG,
  R_STATUS,
  rankWord,
  STATUS_DONE,
  STATUS_FAILED,
  STATUS_RUNNING,
  type SharedGroup,
} from './layout.ts';

export type Wait =
  | { kind: 'recv'; rank: number; peer: number; need: number; have: number }
  | { kind: 'send'; rank: number; peer: number; need: number; have: number }
  | { kind: 'handover'; rank: number; peer: number }
  | { kind: 'barrier'; rank: number };

export interface WaitState {
  status: number[];
  waits: Wait[];
  /** Waits that the links' contents can meet now. */
  satisfiable: Wait[];
  progress: number;
  signature: string;
}

export function readWaits(g: SharedGroup, ctrl: Int32Array): WaitState {
  const n = g.size;
  const status = Array.from({ length: n }, (_, r) => Atomics.load(ctrl, rankWord(n, r, R_STATUS)));
  const waits: Wait[] = [];
  const satisfiable: Wait[] = [];
  const gen = Atomics.load(ctrl, globalWord(n, G_BARRIER_GEN));
  for (let a = 0; a < n; a++)
    for (let b = 0; b < n; b++) {
      if (a === b) continue;
      const used = (Atomics.load(ctrl, linkWord(n, a, b, L_WRITE)) - Atomics.load(ctrl, linkWord(n, a, b, L_READ))) >>> 0;
      const sendNeed = Atomics.load(ctrl, linkWord(n, a, b, L_SEND_NEED));
      if (sendNeed > 0) {
        const w: Wait = { kind: 'send', rank: a, peer: b, need: sendNeed, have: g.linkBytes - used };
        waits.push(w);
        if (w.have >= w.need) satisfiable.push(w);
      }
      const ackWait = Atomics.load(ctrl, linkWord(n, a, b, L_ACK_WAIT));
      if (ackWait > 0) {
        const w: Wait = { kind: 'handover', rank: a, peer: b };
        waits.push(w);
        if (Atomics.load(ctrl, linkWord(n, a, b, L_ACKED)) - ackWait >= 0) satisfiable.push(w);
      }
      const recvNeed = Atomics.load(ctrl, linkWord(n, a, b, L_RECV_NEED));
      if (recvNeed > 0) {
        const w: Wait = { kind: 'recv', rank: b, peer: a, need: recvNeed, have: used };
        waits.push(w);
        if (w.have >= w.need) satisfiable.push(w);
      }
    }
  for (let r = 0; r < n; r++) {
    const bw = Atomics.load(ctrl, rankWord(n, r, R_BARRIER_WAIT));
    if (bw > 0) {
      const w: Wait = { kind: 'barrier', rank: r };
      waits.push(w);
      if (gen !== bw - 1) satisfiable.push(w);
    }
  }
  const progress = Atomics.load(ctrl, globalWord(n, G_PROGRESS));
  const signature = `${status.join(',')}|${waits.map((w) => `${w.kind}${w.rank}:${'peer' in w ? w.peer : ''}`).join(',')}|${progress}`;
  return { status, waits, satisfiable, progress, signature };
}

/** True when the state alone says no rank can move (the pings then confirm the ranks are idle). */
export function looksDeadlocked(s: WaitState): boolean {
  const running = s.status.map((st, r) => (st === STATUS_RUNNING ? r : -1)).filter((r) => r >= 0);
  if (!running.length || s.satisfiable.length) return false;
  return running.every((r) => s.waits.some((w) => w.rank === r));
}

const kib = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(b % (1 << 20) ? 1 : 0)} MiB` : b >= 1024 ? `${(b / 1024).toFixed(b % 1024 ? 1 : 0)} KiB` : `${b} bytes`);

/** The message for a deadlock: who waits on whom, what the others are doing, and a cycle if there is one. */
export function describeDeadlock(s: WaitState, linkBytes: number): string {
  const n = s.status.length;
  const { lines: waits, edges } = waitLines(s, linkBytes);
  const lines = waits.map((l) => l.text);
  const done = s.status.map((st, r) => (st === STATUS_DONE ? r : -1)).filter((r) => r >= 0);
  if (done.length) lines.push(`rank${done.length > 1 ? 's' : ''} ${done.join(', ')} ha${done.length > 1 ? 've' : 's'} returned`);
  const cycle = findCycle(n, edges);
  return (
    `every rank still running waits for another and no message can arrive (${n} rank${n > 1 ? 's' : ''}): ` +
    lines.join('; ') +
    (cycle ? `. Wait-for cycle: ${cycle.join(' -> ')}` : '') +
    '. Check that every send has a matching recv, that ranks do not all wait to receive before any sends, and that a send of more than 64 KiB is not awaited before the matching recv is started (start both, then await both: Promise.all).'
  );
}

/**
 * What every rank is doing, for a call that ran out of time: the waits in the communicator, and
 * for each other rank still running whether its event loop answered a ping within `pingMs`
 * (idle: it awaits something outside the communicator) or not (busy: it never yields).
 */
export function describeStall(s: WaitState, linkBytes: number, answered: (rank: number) => boolean): string {
  const { lines } = waitLines(s, linkBytes);
  s.status.forEach((st, r) => {
    if (st === STATUS_DONE) lines.push({ rank: r, text: `rank ${r} has returned` });
    else if (st === STATUS_FAILED) lines.push({ rank: r, text: `rank ${r} has failed` });
    else if (st === STATUS_RUNNING && !s.waits.some((w) => w.rank === r))
      lines.push({
        rank: r,
        text: answered(r)
          ? `rank ${r} is not waiting in any send, receive or barrier, and its event loop is idle: it awaits something that never comes (a promise that never settles?)`
          : `rank ${r} is computing: its code has not yielded to the event loop (an endless loop, or far more work than the case needs?)`,
      });
  });
  lines.sort((a, b) => a.rank - b.rank);
  return `what the ranks were doing when the time ran out: ${lines.map((l) => l.text).join('; ')}`;
}

/** One line per wait (the barrier's waiters share one, under the first of them), and who waits on whom. */
function waitLines(s: WaitState, linkBytes: number): { lines: { rank: number; text: string }[]; edges: Map<number, number[]> } {
  const lines: { rank: number; text: string }[] = [];
  const line = (rank: number, text: string) => lines.push({ rank, text });
  const edges = new Map<number, number[]>();
  const barrier: number[] = [];
  for (const w of s.waits) {
    if (w.kind === 'recv') {
      line(w.rank, `rank ${w.rank} waits to receive from rank ${w.peer}${peerState(s, w.peer)}`);
      edges.set(w.rank, [...(edges.get(w.rank) ?? []), w.peer]);
    } else if (w.kind === 'send') {
      line(
        w.rank,
        `rank ${w.rank} waits to send to rank ${w.peer} (the link's ${kib(linkBytes)} buffer is full and rank ${w.peer} is not receiving from rank ${w.rank}${peerState(s, w.peer, true)})`,
      );
      edges.set(w.rank, [...(edges.get(w.rank) ?? []), w.peer]);
    } else if (w.kind === 'handover') {
      line(
        w.rank,
        `rank ${w.rank} waits for rank ${w.peer} to receive its message (a send of more than 64 KiB completes when it is received${peerState(s, w.peer, true)})`,
      );
      edges.set(w.rank, [...(edges.get(w.rank) ?? []), w.peer]);
    } else barrier.push(w.rank);
  }
  if (barrier.length) {
    const absent = s.status.map((_, r) => r).filter((r) => !barrier.includes(r));
    line(
      barrier[0]!,
      `rank${barrier.length > 1 ? 's' : ''} ${barrier.join(', ')} wait${barrier.length > 1 ? '' : 's'} at the barrier, which rank${absent.length > 1 ? 's' : ''} ${absent.join(', ')} never reached`,
    );
    for (const r of barrier) edges.set(r, [...(edges.get(r) ?? []), ...absent]);
  }
  return { lines, edges };
}

function peerState(s: WaitState, peer: number, inline = false): string {
  const st = s.status[peer];
  const what = st === STATUS_DONE ? 'which has returned' : st === STATUS_FAILED ? 'which has failed' : '';
  if (!what) return '';
  return inline ? `, ${what}` : ` (${what})`;
}

function findCycle(n: number, edges: Map<number, number[]>): number[] | null {
  const color = new Array<number>(n).fill(0);
  const stack: number[] = [];
  let found: number[] | null = null;
  const dfs = (u: number): void => {
    if (found) return;
    color[u] = 1;
    stack.push(u);
    for (const v of edges.get(u) ?? []) {
      if (found) return;
      if (color[v] === 1) {
        found = [...stack.slice(stack.indexOf(v)), v];
        return;
      }
      if (color[v] === 0) dfs(v);
    }
    stack.pop();
    color[u] = 2;
  };
  for (let u = 0; u < n && !found; u++) if (color[u] === 0) dfs(u);
  return found;
}

export interface WatchdogOptions {
  /** How long the state must stay deadlocked (with every waiting rank idle) before it is declared. */
  confirmMs: number;
  intervalMs: number;
}

export const DEFAULT_WATCHDOG: WatchdogOptions = { confirmMs: 150, intervalMs: 20 };

/** Polls the group's words while a job runs; calls onDeadlock once, with the message. */
export class Watchdog {
  private timer: NodeJS.Timeout | null = null;
  private candidate: { signature: string; since: number; pings: number[] } | null = null;
  private readonly ctrl: Int32Array;

  constructor(
    private readonly g: SharedGroup,
    private readonly onDeadlock: (message: string, state: WaitState) => void,
    private readonly opt: WatchdogOptions = DEFAULT_WATCHDOG,
  ) {
    this.ctrl = new Int32Array(g.ctrl);
  }

  start(): void {
    this.stop();
    this.candidate = null;
    this.timer = setInterval(() => this.tick(), this.opt.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** What the ranks are doing now (describeStall), after pinging the running ones. */
  async describeNow(pingMs = 300): Promise<string> {
    const n = this.g.size;
    const s = readWaits(this.g, this.ctrl);
    const pings = s.status.map((st, r) => (st === STATUS_RUNNING ? Atomics.add(this.ctrl, rankWord(n, r, R_PING), 1) + 1 : 0));
    for (let r = 0; r < n; r++) if (pings[r]) Atomics.notify(this.ctrl, rankWord(n, r, R_PING));
    await new Promise((res) => setTimeout(res, pingMs));
    return describeStall(s, this.g.linkBytes, (r) => Atomics.load(this.ctrl, rankWord(n, r, R_PONG)) - pings[r]! >= 0);
  }

  private tick(): void {
    const n = this.g.size;
    const s = readWaits(this.g, this.ctrl);
    if (!looksDeadlocked(s)) {
      this.candidate = null;
      return;
    }
    const running = s.status.map((st, r) => (st === STATUS_RUNNING ? r : -1)).filter((r) => r >= 0);
    if (!this.candidate || this.candidate.signature !== s.signature) {
      // A new suspicion: ping every running rank; an idle event loop answers.
      const pings = running.map((r) => Atomics.add(this.ctrl, rankWord(n, r, R_PING), 1) + 1);
      for (const r of running) Atomics.notify(this.ctrl, rankWord(n, r, R_PING));
      this.candidate = { signature: s.signature, since: performance.now(), pings };
      return;
    }
    if (performance.now() - this.candidate.since < this.opt.confirmMs) return;
    const idle = running.every((r, i) => Atomics.load(this.ctrl, rankWord(n, r, R_PONG)) - this.candidate!.pings[i]! >= 0);
    if (!idle) return;
    this.stop();
    this.onDeadlock(describeDeadlock(s, this.g.linkBytes), s);
  }
}
