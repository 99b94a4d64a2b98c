// The communicator one rank's code gets: point-to-point send/recv of typed arrays over shared
// memory, a barrier, and allocation of rank-local buffers through the harness. Runs inside the
// rank's thread. Every send is counted (bytes and messages per link, a timeline); allocations
// are counted (live and peak bytes per rank, by tag); a virtual clock rides on every message.
//
// Transport: each directed link src -> dst has a ring of `linkBytes` in one SharedArrayBuffer.
// A message is a 16-byte header (length, dtype, the sender's virtual clock) and its payload.
// - From an array in the sender's arena (what comm.alloc returns), a message over EAGER_BYTES
//   is handed over in place: the header says where it is, the receiver copies (or adds) it
//   straight out of the sender's memory, once, and acknowledges.
// - Otherwise the payload follows the header through the ring (padded to 16 bytes): the sender
//   copies it in, publishes its write position with Atomics, the receiver copies (or adds) it
//   out and publishes its read position; a message larger than the ring streams through it.
// A send of up to EAGER_BYTES completes once it is in the ring; a larger one completes when the
// receiver has taken it (as MPI's eager and rendezvous protocols). Waiting is asynchronous
// (Atomics.waitAsync): a waiting rank leaves its thread's event loop free. Nothing passes
// through the process's main thread.
import {
  C_BYTES,
  C_MESSAGES,
  C_RECEIVED,
  counterIndex,
  DTYPE_CODES,
  DTYPE_NAMES,
  EAGER_BYTES,
  FRAME_ALIGN,
  KIND_ARENA,
  KIND_INLINE,
  L_ACK_WAIT,
  L_ACKED,
  G_BARRIER_COUNT,
  G_BARRIER_GEN,
  G_PROGRESS,
  globalWord,
  L_READ,
  L_RECV_NEED,
  L_SEND_NEED,
  L_WRITE,
  linkWord,
  R_BARRIER_WAIT,
  rankWord,
  ringBase,
  SCRATCH_BYTES,
  type CommDType,
  type SharedGroup,
} from './layout.ts';
import { WasmReducer } from './reduce.ts';

// Captured when this module loads, before any submission code runs in this thread.
const A_load = Atomics.load;
const A_store = Atomics.store;
const A_add = Atomics.add;
const A_notify = Atomics.notify;
type WaitAsyncResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
const A_waitAsync = (Atomics as unknown as { waitAsync(a: Int32Array, i: number, v: number, t?: number): WaitAsyncResult }).waitAsync;
const u8set = Uint8Array.prototype.set;
const mathMin = Math.min;
const mathMax = Math.max;

export type AnyArray = Float32Array | Float64Array | Int32Array | Uint8Array;
const CTORS = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array } as const;

function dtypeOf(a: unknown): CommDType | null {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof Uint8Array) return 'uint8';
  return null;
}

/** Resolves when the int32 word at i no longer holds v (or right away when it already does not). */
async function waitChange(ctrl: Int32Array, i: number, v: number): Promise<void> {
  const r = A_waitAsync(ctrl, i, v);
  if (r.async) await r.value;
}

export interface SendEvent {
  /** Start and end on the harness's clock, in ms. */
  t0: number;
  t1: number;
  src: number;
  dst: number;
  bytes: number;
}

export interface MemoryFigures {
  /** Bytes allocated through comm.alloc and not freed. */
  live: number;
  /** The most `live` has been since the job started (or since resetPeak). */
  peak: number;
  /** Live bytes by the tag given to alloc ('' when none). */
  byTag: Record<string, number>;
}

export interface TrafficFigures {
  bytesSent: number;
  messagesSent: number;
  bytesReceived: number;
  messagesReceived: number;
}

const TIMELINE_CAP = 20000;
const ARENA_ALIGN = 64;

/** First-fit allocator over one rank's arena, with coalescing; `fresh` marks never-used bytes. */
class Arena {
  private free: [number, number][] = [];
  private fresh = 0;

  constructor(readonly bytes: number) {
    this.reset();
  }

  reset(): void {
    this.free = this.bytes > 0 ? [[0, this.bytes]] : [];
  }

  /** Offset of `n` bytes (aligned), or -1; `zero` says whether the caller must zero them. */
  alloc(n: number): { off: number; zero: boolean } | null {
    const need = Math.max(ARENA_ALIGN, Math.ceil(n / ARENA_ALIGN) * ARENA_ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const [off, size] = this.free[i]!;
      if (size < need) continue;
      if (size === need) this.free.splice(i, 1);
      else this.free[i] = [off + need, size - need];
      const zero = off < this.fresh;
      this.fresh = Math.max(this.fresh, off + need);
      return { off, zero };
    }
    return null;
  }

  release(off: number, n: number): void {
    const size = Math.max(ARENA_ALIGN, Math.ceil(n / ARENA_ALIGN) * ARENA_ALIGN);
    let i = 0;
    while (i < this.free.length && this.free[i]![0] < off) i++;
    this.free.splice(i, 0, [off, size]);
    // Merge with the next, then with the previous.
    const next = this.free[i + 1];
    if (next && off + size === next[0]) this.free.splice(i, 2, [off, size + next[1]]);
    const prev = this.free[i - 1];
    const cur = this.free[i]!;
    if (prev && prev[0] + prev[1] === cur[0]) this.free.splice(i - 1, 2, [prev[0], prev[1] + cur[1]]);
  }
}

interface Allocation {
  bytes: number;
  tag: string;
  /** Offset in the arena, or -1 for a plain array. */
  off: number;
  /** Counted in the rank's memory (comm.alloc) or not (the harness's own buffers). */
  counted: boolean;
}

/**
 * Everything of one rank that the harness (but not the submission) reaches: the transport, the
 * counters, the memory tracker, the virtual clock. The submission only ever holds a `Comm`.
 */
export class RankCore {
  readonly ctrl: Int32Array;
  readonly ring: Uint8Array;
  readonly ringF32: Float32Array;
  readonly ringF64: Float64Array;
  readonly ringI32: Int32Array;
  readonly counters: Float64Array;
  readonly cap: number;
  readonly mask: number;
  /** Views of every rank's arena (this rank's own is arenaU8[rank]). */
  readonly arenaU8: Uint8Array[];
  readonly arenaF32: Float32Array[];
  readonly arenaF64: Float64Array[];
  readonly arenaI32: Int32Array[];
  private readonly myArena: SharedArrayBuffer;
  private readonly arena: Arena;
  /** recvReduce into this rank's arena as WebAssembly SIMD; null: JavaScript loops only. */
  private readonly reducer: WasmReducer | null;
  private sendQ: Promise<unknown>[];
  /** Per link: whether a receive is in progress, and the starts of those queued behind it. */
  private recvBusy: Uint8Array;
  private recvWaiting: (() => void)[][];
  /** Local copies of the positions this rank owns: write of its outgoing links, read of incoming. */
  private wpos: Int32Array;
  private rpos: Int32Array;
  /** Messages sent per outgoing link (for acknowledgements). */
  private sent: Int32Array;
  private acked: Int32Array;
  timeline: SendEvent[] = [];
  dropped = 0;
  bytesReceived = 0;
  messagesReceived = 0;
  vclock = 0;
  private allocations = new Map<object, Allocation>();
  live = 0;
  peak = 0;
  /** Bytes of allocations outside the arena (plain arrays, counted or not). */
  plainBytes = 0;
  /** The job an operation belongs to: one left over from an ended job stops at its next step. */
  private gen = 0;

  constructor(
    readonly g: SharedGroup,
    readonly rank: number,
    readonly now: () => number,
  ) {
    this.ctrl = new Int32Array(g.ctrl);
    this.ring = new Uint8Array(g.data);
    this.ringF32 = new Float32Array(g.data);
    this.ringF64 = new Float64Array(g.data);
    this.ringI32 = new Int32Array(g.data);
    this.counters = new Float64Array(g.counters);
    this.cap = g.linkBytes;
    this.mask = g.linkBytes - 1;
    this.arenaU8 = g.arenas.map((a) => new Uint8Array(a));
    this.arenaF32 = g.arenas.map((a) => new Float32Array(a));
    this.arenaF64 = g.arenas.map((a) => new Float64Array(a));
    this.arenaI32 = g.arenas.map((a) => new Int32Array(a));
    this.myArena = g.arenas[rank]!;
    this.arena = new Arena(g.arenaBytes);
    // The scratch follows the arena (a multiple of 64 bytes) in the rank's memory; nothing the
    // submission gets lies there.
    const mem = g.arenaMemories?.[rank];
    this.reducer = mem ? new WasmReducer(mem, g.arenaBytes, SCRATCH_BYTES) : null;
    this.sendQ = [];
    this.recvBusy = new Uint8Array(g.size);
    this.recvWaiting = [];
    this.wpos = new Int32Array(g.size);
    this.rpos = new Int32Array(g.size);
    this.sent = new Int32Array(g.size);
    this.acked = new Int32Array(g.size);
    this.resetForJob();
  }

  get size(): number {
    return this.g.size;
  }

  /** A new job: the main thread has zeroed the shared words; local state follows. */
  resetForJob(): void {
    this.gen++;
    this.sendQ = Array.from({ length: this.size }, () => Promise.resolve());
    // Receives still queued from the ended job start, and fail at once (current(gen)).
    for (const q of this.recvWaiting) for (const start of q) start();
    this.recvWaiting = Array.from({ length: this.size }, () => []);
    this.recvBusy.fill(0);
    this.wpos.fill(0);
    this.rpos.fill(0);
    this.sent.fill(0);
    this.acked.fill(0);
    this.timeline = [];
    this.dropped = 0;
    this.bytesReceived = 0;
    this.messagesReceived = 0;
    this.vclock = 0;
    this.allocations.clear();
    this.arena.reset();
    this.live = 0;
    this.peak = 0;
    this.plainBytes = 0;
  }

  /** Throws when the operation started in job `gen` and that job has ended. */
  private current(gen: number): void {
    if (gen !== this.gen) throw new Error('this communication belongs to a call that has already ended');
  }

  private progress(): void {
    A_add(this.ctrl, globalWord(this.size, G_PROGRESS), 1);
  }

  private checkPeer(what: string, peer: unknown): number {
    if (typeof peer !== 'number' || !Number.isInteger(peer) || peer < 0 || peer >= this.size)
      throw new RangeError(`${what}: rank ${String(peer)} does not exist (ranks are 0..${this.size - 1})`);
    if (peer === this.rank) throw new RangeError(`${what}: rank ${this.rank} cannot ${what} itself (copy the data instead)`);
    return peer;
  }

  private checkArray(what: string, a: unknown): { dtype: CommDType; bytes: Uint8Array } {
    const dtype = dtypeOf(a);
    if (!dtype) throw new TypeError(`${what}: expected a Float32Array, Float64Array, Int32Array or Uint8Array`);
    const v = a as AnyArray;
    return { dtype, bytes: new Uint8Array(v.buffer, v.byteOffset, v.byteLength) };
  }

  send(dst: unknown, data: unknown): Promise<void> {
    let d: number;
    let arr: { dtype: CommDType; bytes: Uint8Array };
    try {
      d = this.checkPeer('send', dst);
      arr = this.checkArray(`send to rank ${String(dst)}`, data);
    } catch (e) {
      return Promise.reject(e);
    }
    // One send at a time per link, in call order: messages on a link arrive in the order sent.
    // The virtual clock and the start time are those of the call.
    const vtime = this.vclock;
    const t0 = this.now();
    const gen = this.gen;
    const p = this.sendQ[d]!.then(() => this.sendNow(d, arr.dtype, arr.bytes, vtime, t0, gen));
    this.sendQ[d] = p.catch(() => {});
    return p;
  }

  recv(src: unknown, out: unknown, reduce: boolean): Promise<void> {
    const what = reduce ? 'recvReduce' : 'recv';
    let s: number;
    let arr: { dtype: CommDType; bytes: Uint8Array };
    try {
      s = this.checkPeer(what, src);
      arr = this.checkArray(`${what} from rank ${String(src)}`, out);
      if (reduce && arr.dtype === 'uint8') throw new TypeError(`recvReduce from rank ${s}: the accumulator must be a Float32Array, Float64Array or Int32Array`);
    } catch (e) {
      return Promise.reject(e);
    }
    const gen = this.gen;
    // One receive at a time per link, in call order. The queue is kept without .then() on the
    // promise the rank's code awaits: any other reaction on it cuts V8's async stack trace, and
    // an error recvNow raises (a message that does not fit the buffer) would not carry the line
    // of the rank's await.
    if (!this.recvBusy[s]) {
      this.recvBusy[s] = 1;
      return this.recvNow(s, out as AnyArray, arr.dtype, arr.bytes, reduce, gen);
    }
    return this.recvQueued(s, out as AnyArray, arr.dtype, arr.bytes, reduce, gen);
  }

  private async recvQueued(src: number, out: AnyArray, dtype: CommDType, outBytes: Uint8Array, reduce: boolean, gen: number): Promise<void> {
    await new Promise<void>((start) => this.recvWaiting[src]!.push(start));
    await this.recvNow(src, out, dtype, outBytes, reduce, gen);
  }

  /** A receive on link src has settled: the next queued one starts, if any. */
  private recvNext(src: number, gen: number): void {
    if (gen !== this.gen) return; // a new job has reset the link
    const next = this.recvWaiting[src]!.shift();
    if (next) next();
    else this.recvBusy[src] = 0;
  }

  /** Writes `src` into the ring of link (rank -> dst) at ring position pos, wrapping. */
  private put(base: number, pos: number, src: Uint8Array): void {
    const first = mathMin(src.length, this.cap - pos);
    u8set.call(this.ring, first === src.length ? src : src.subarray(0, first), base + pos);
    if (first < src.length) u8set.call(this.ring, src.subarray(first), base);
  }

  /** Waits until the link (rank -> dst) has `need` bytes free; returns the read position. */
  private async waitSpace(dst: number, w: number, need: number, gen: number): Promise<number> {
    const ctrl = this.ctrl;
    const ri = linkWord(this.size, this.rank, dst, L_READ);
    let r = A_load(ctrl, ri);
    if (this.cap - ((w - r) >>> 0) >= need) return r;
    const ni = linkWord(this.size, this.rank, dst, L_SEND_NEED);
    A_store(ctrl, ni, need);
    while (this.cap - ((w - r) >>> 0) < need) {
      await waitChange(ctrl, ri, r);
      this.current(gen);
      r = A_load(ctrl, ri);
    }
    A_store(ctrl, ni, 0);
    return r;
  }

  private writeHeader(base: number, pos: number, len: number, dtype: CommDType, kind: number, vtime: number): void {
    const hi = (base + pos) >> 2;
    this.ringI32[hi] = len;
    this.ringI32[hi + 1] = DTYPE_CODES[dtype] | (kind << 8);
    this.ringF64[((base + pos) >> 3) + 1] = vtime;
  }

  private publish(dst: number, w: number): void {
    const wi = linkWord(this.size, this.rank, dst, L_WRITE);
    A_store(this.ctrl, wi, w);
    A_notify(this.ctrl, wi);
    this.progress();
  }

  private async sendNow(dst: number, dtype: CommDType, payload: Uint8Array, vtime: number, t0: number, gen: number): Promise<void> {
    this.current(gen);
    const size = this.size;
    const base = ringBase(this.g, this.rank, dst);
    const len = payload.byteLength;
    let w = this.wpos[dst]!;
    if (len > EAGER_BYTES && payload.buffer === this.myArena) {
      // In place: a header and the payload's offset; the receiver reads the arena directly.
      await this.waitSpace(dst, w, 2 * FRAME_ALIGN, gen);
      const pos = w & this.mask;
      this.writeHeader(base, pos, len, dtype, KIND_ARENA, vtime);
      this.ringI32[(base + ((pos + FRAME_ALIGN) & this.mask)) >> 2] = payload.byteOffset;
      w = (w + 2 * FRAME_ALIGN) | 0;
      this.publish(dst, w);
    } else {
      const padded = (len + FRAME_ALIGN - 1) & ~(FRAME_ALIGN - 1);
      const total = FRAME_ALIGN + padded;
      let done = 0;
      while (done < total) {
        // Wait for a quarter of the ring (or the rest of the message) to be free: fewer, larger copies.
        const r = await this.waitSpace(dst, w, mathMin(total - done, this.cap >> 2), gen);
        const n = mathMin(this.cap - ((w - r) >>> 0), total - done);
        let pos = w & this.mask;
        let from = done;
        const to = done + n;
        if (from === 0) {
          this.writeHeader(base, pos, len, dtype, KIND_INLINE, vtime);
          pos = (pos + FRAME_ALIGN) & this.mask;
          from = FRAME_ALIGN;
        }
        const a = from - FRAME_ALIGN;
        const b = mathMin(to - FRAME_ALIGN, len);
        if (b > a) this.put(base, pos, payload.subarray(a, b));
        w = (w + n) | 0;
        done = to;
        this.publish(dst, w);
      }
    }
    this.wpos[dst] = w;
    const seq = ++this.sent[dst]!;
    this.counters[counterIndex(size, this.rank, dst, C_BYTES)] += len;
    this.counters[counterIndex(size, this.rank, dst, C_MESSAGES)] += 1;
    if (len > EAGER_BYTES) await this.waitAcked(dst, seq, gen);
    if (this.timeline.length < TIMELINE_CAP) this.timeline.push({ t0, t1: this.now(), src: this.rank, dst, bytes: len });
    else this.dropped++;
  }

  /** Waits until the receiver has taken `seq` messages on link (rank -> dst). */
  private async waitAcked(dst: number, seq: number, gen: number): Promise<void> {
    const ctrl = this.ctrl;
    const ai = linkWord(this.size, this.rank, dst, L_ACKED);
    let a = A_load(ctrl, ai);
    if (a - seq >= 0) return;
    const wi = linkWord(this.size, this.rank, dst, L_ACK_WAIT);
    A_store(ctrl, wi, seq);
    while (a - seq < 0) {
      await waitChange(ctrl, ai, a);
      this.current(gen);
      a = A_load(ctrl, ai);
    }
    A_store(ctrl, wi, 0);
  }

  /** Waits until link (src -> rank) holds at least `need` unread bytes; returns the write position. */
  private async waitData(src: number, r: number, need: number, gen: number): Promise<number> {
    const size = this.size;
    const wi = linkWord(size, src, this.rank, L_WRITE);
    let w = A_load(this.ctrl, wi);
    if (((w - r) >>> 0) >= need) return w;
    A_store(this.ctrl, linkWord(size, src, this.rank, L_RECV_NEED), need);
    while (((w - r) >>> 0) < need) {
      await waitChange(this.ctrl, wi, w);
      this.current(gen);
      w = A_load(this.ctrl, wi);
    }
    A_store(this.ctrl, linkWord(size, src, this.rank, L_RECV_NEED), 0);
    return w;
  }

  private consumed(src: number, r: number): void {
    const ri = linkWord(this.size, src, this.rank, L_READ);
    A_store(this.ctrl, ri, r);
    A_notify(this.ctrl, ri);
    this.progress();
  }

  private async recvNow(src: number, out: AnyArray, dtype: CommDType, outBytes: Uint8Array, reduce: boolean, gen: number): Promise<void> {
    try {
      await this.recvMessage(src, out, dtype, outBytes, reduce, gen);
    } finally {
      this.recvNext(src, gen);
    }
  }

  private async recvMessage(src: number, out: AnyArray, dtype: CommDType, outBytes: Uint8Array, reduce: boolean, gen: number): Promise<void> {
    this.current(gen);
    const size = this.size;
    const base = ringBase(this.g, src, this.rank);
    let r = this.rpos[src]!;
    let w = await this.waitData(src, r, FRAME_ALIGN, gen);
    const hpos = base + (r & this.mask);
    const len = this.ringI32[hpos >> 2]!;
    const code = this.ringI32[(hpos >> 2) + 1]!;
    const vtime = this.ringF64[(hpos >> 3) + 1]!;
    const kind = code >> 8;
    const sentType = DTYPE_NAMES[code & 0xff] ?? `dtype ${code & 0xff}`;
    const what = reduce ? 'recvReduce' : 'recv';
    if (sentType !== dtype || len !== outBytes.byteLength) {
      const el = (bytes: number, t: string) => `${bytes / (CTORS[t as CommDType]?.BYTES_PER_ELEMENT ?? 1)} ${t} element(s)`;
      throw new RangeError(
        `rank ${this.rank} ${what} from rank ${src}: the message holds ${el(len, sentType)} (${len} bytes) ` +
          `but the buffer holds ${el(outBytes.byteLength, dtype)} (${outBytes.byteLength} bytes): ` +
          `receives must match the sends on a link one for one, in order, with the same length and dtype`,
      );
    }
    if (kind === KIND_ARENA) {
      w = await this.waitData(src, r, 2 * FRAME_ALIGN, gen);
      const off = this.ringI32[(base + ((r + FRAME_ALIGN) & this.mask)) >> 2]!;
      r = (r + 2 * FRAME_ALIGN) | 0;
      this.consumed(src, r);
      if (reduce) this.addFrom(out, 0, src, off, len);
      else u8set.call(outBytes, this.arenaU8[src]!.subarray(off, off + len), 0);
    } else {
      r = (r + FRAME_ALIGN) | 0;
      this.consumed(src, r);
      const padded = (len + FRAME_ALIGN - 1) & ~(FRAME_ALIGN - 1);
      let got = 0;
      while (got < padded) {
        let avail = (w - r) >>> 0;
        if (avail === 0) {
          w = await this.waitData(src, r, FRAME_ALIGN, gen);
          avail = (w - r) >>> 0;
        }
        const n = mathMin(avail, padded - got);
        // The payload part of [got, got + n), possibly in two pieces around the ring's end.
        let a = got;
        const b = mathMin(got + n, len);
        let pos = r & this.mask;
        while (a < b) {
          const m = mathMin(b - a, this.cap - pos);
          if (reduce) this.addFrom(out, a, -1, base + pos, m);
          else u8set.call(outBytes, this.ring.subarray(base + pos, base + pos + m), a);
          a += m;
          pos = (pos + m) & this.mask;
        }
        r = (r + n) | 0;
        got += n;
        this.consumed(src, r);
      }
    }
    this.rpos[src] = r;
    // The message is taken in full: its sender may go on (and reuse its buffer).
    const ai = linkWord(size, src, this.rank, L_ACKED);
    A_store(this.ctrl, ai, ++this.acked[src]!);
    A_notify(this.ctrl, ai);
    this.counters[counterIndex(size, src, this.rank, C_RECEIVED)] += 1;
    this.bytesReceived += len;
    this.messagesReceived++;
    this.vclock = mathMax(this.vclock, vtime);
  }

  /** out[from byte a] += m bytes of elements at byte offset `at` of the ring (who = -1) or of rank who's arena. */
  private addFrom(out: AnyArray, a: number, who: number, at: number, m: number): void {
    if (this.reducer && out.buffer === this.myArena) {
      this.reducer.add(out, a, who < 0 ? this.ring : this.arenaU8[who]!, at, m);
      return;
    }
    if (out instanceof Float32Array) {
      const src = who < 0 ? this.ringF32 : this.arenaF32[who]!;
      const o = a >> 2;
      const k = at >> 2;
      const n = m >> 2;
      for (let i = 0; i < n; i++) out[o + i] += src[k + i]!;
    } else if (out instanceof Float64Array) {
      const src = who < 0 ? this.ringF64 : this.arenaF64[who]!;
      const o = a >> 3;
      const k = at >> 3;
      const n = m >> 3;
      for (let i = 0; i < n; i++) out[o + i] += src[k + i]!;
    } else {
      const src = who < 0 ? this.ringI32 : this.arenaI32[who]!;
      const o = a >> 2;
      const k = at >> 2;
      const n = m >> 2;
      for (let i = 0; i < n; i++) out[o + i] = (out[o + i]! + src[k + i]!) | 0;
    }
  }

  async barrier(): Promise<void> {
    const g0 = this.gen;
    const size = this.size;
    const ctrl = this.ctrl;
    const gi = globalWord(size, G_BARRIER_GEN);
    const gen = A_load(ctrl, gi);
    const n = A_add(ctrl, globalWord(size, G_BARRIER_COUNT), 1) + 1;
    if (n === size) {
      A_store(ctrl, globalWord(size, G_BARRIER_COUNT), 0);
      A_add(ctrl, gi, 1);
      A_notify(ctrl, gi);
      this.progress();
      return;
    }
    A_store(ctrl, rankWord(size, this.rank, R_BARRIER_WAIT), gen + 1);
    while (A_load(ctrl, gi) === gen) {
      await waitChange(ctrl, gi, gen);
      this.current(g0);
    }
    A_store(ctrl, rankWord(size, this.rank, R_BARRIER_WAIT), 0);
  }

  /**
   * A zero-filled array from this rank's arena (a plain array when the arena is full). `counted`:
   * part of the rank's memory figures (comm.alloc), or the harness's own (ctx.alloc).
   */
  alloc(n: unknown, dtype: unknown, tag: unknown, counted: boolean): AnyArray {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new RangeError(`alloc: the length must be a non-negative integer, got ${String(n)}`);
    if (typeof dtype !== 'string' || !(dtype in CTORS)) throw new TypeError(`alloc: dtype must be one of ${Object.keys(CTORS).join(', ')}, got ${String(dtype)}`);
    const Ctor = CTORS[dtype as CommDType];
    const bytes = n * Ctor.BYTES_PER_ELEMENT;
    const slot = this.arena.alloc(bytes);
    let a: AnyArray;
    if (slot) {
      a = new Ctor(this.myArena as unknown as ArrayBuffer, slot.off, n);
      if (slot.zero) a.fill(0);
    } else {
      a = new Ctor(n);
      this.plainBytes += bytes;
    }
    this.allocations.set(a, { bytes, tag: String(tag), off: slot ? slot.off : -1, counted });
    if (counted) {
      this.live += bytes;
      if (this.live > this.peak) this.peak = this.live;
    }
    return a;
  }

  free(a: unknown): void {
    const t = typeof a === 'object' && a !== null ? this.allocations.get(a) : undefined;
    if (!t) throw new Error('free: this array was not returned by comm.alloc (pass the array alloc returned, not a subarray), or it was freed already');
    this.allocations.delete(a as object);
    if (t.off >= 0) this.arena.release(t.off, t.bytes);
    else this.plainBytes -= t.bytes;
    if (t.counted) this.live -= t.bytes;
  }

  memory(): MemoryFigures {
    const byTag: Record<string, number> = {};
    for (const { bytes, tag, counted } of this.allocations.values()) if (counted) byTag[tag] = (byTag[tag] ?? 0) + bytes;
    return { live: this.live, peak: this.peak, byTag };
  }

  resetPeak(): void {
    this.peak = this.live;
  }

  traffic(): TrafficFigures {
    let bytesSent = 0;
    let messagesSent = 0;
    for (let d = 0; d < this.size; d++) {
      bytesSent += this.counters[counterIndex(this.size, this.rank, d, C_BYTES)]!;
      messagesSent += this.counters[counterIndex(this.size, this.rank, d, C_MESSAGES)]!;
    }
    return { bytesSent, messagesSent, bytesReceived: this.bytesReceived, messagesReceived: this.messagesReceived };
  }

  /** Copies `bytes` from rank `src`'s arena at offset 0 into this rank's arena at `at` (the transport's physical limit). */
  copyFromArena(src: number, bytes: number, at: number): void {
    u8set.call(this.arenaU8[this.rank]!, this.arenaU8[src]!.subarray(0, bytes), at);
  }
}

/**
 * What a rank's code gets. Point-to-point operations on typed arrays; one message per send,
 * received by exactly one recv of the same dtype and length, in order per link.
 */
export class Comm {
  readonly #core: RankCore;
  readonly rank: number;
  readonly size: number;

  constructor(core: RankCore) {
    this.#core = core;
    this.rank = core.rank;
    this.size = core.size;
    Object.freeze(this);
  }

  /**
   * Sends a copy of `data` to rank `dst`. A message of up to 64 KiB is buffered: the promise
   * resolves at once. A larger one resolves when rank `dst` has received it: start the
   * matching recv before awaiting the send (e.g. await Promise.all([send, recv])). Do not
   * change `data` until the promise resolves.
   */
  send(dst: number, data: AnyArray): Promise<void> {
    return this.#core.send(dst, data);
  }

  /** Receives the next message from rank `src` into `out` (same dtype and length as sent). */
  recv(src: number, out: AnyArray): Promise<void> {
    return this.#core.recv(src, out, false);
  }

  /** Receives the next message from rank `src` and adds it element-wise into `acc` (acc += message). */
  recvReduce(src: number, acc: Float32Array | Float64Array | Int32Array): Promise<void> {
    return this.#core.recv(src, acc, true);
  }

  /** Resolves when every rank has called barrier. */
  barrier(): Promise<void> {
    return this.#core.barrier();
  }

  /**
   * A zero-filled array of n elements in this rank's shared arena, counted in the rank's memory
   * until `free`. Sending from such an array costs one copy (by the receiver) instead of two.
   */
  alloc(n: number, dtype?: 'float32', tag?: string): Float32Array;
  alloc(n: number, dtype: 'float64', tag?: string): Float64Array;
  alloc(n: number, dtype: 'int32', tag?: string): Int32Array;
  alloc(n: number, dtype: 'uint8', tag?: string): Uint8Array;
  alloc(n: number, dtype: CommDType = 'float32', tag = ''): AnyArray {
    return this.#core.alloc(n, dtype, tag, true);
  }

  /** Gives back an array from alloc (it no longer counts; do not use it afterwards). */
  free(a: AnyArray): void {
    this.#core.free(a);
  }
}
