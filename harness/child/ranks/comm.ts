// The communicator one rank's code gets: point-to-point send/recv of typed arrays over shared
// memory, a barrier, and allocation of rank-local buffers through the harness. Runs inside the
// rank's thread. Every send is counted (bytes and messages per link, a timeline); allocations
// are counted (live and peak bytes per rank, by tag); a virtual clock rides on every message.
//
// Transport: each directed link src -> dst has a ring of `linkBytes` in one SharedArrayBuffer.
// The sender copies its message in (header + payload padded to 16 bytes) and publishes the write
// position with Atomics; the receiver copies (or adds) it out and publishes the read position.
// A message larger than the ring streams through it while both sides are active. Waiting is
// asynchronous (Atomics.waitAsync): a rank waiting for data leaves its thread's event loop free.
// Nothing passes through the process's main thread.
import {
  C_BYTES,
  C_MESSAGES,
  C_RECEIVED,
  counterIndex,
  DTYPE_CODES,
  DTYPE_NAMES,
  FRAME_ALIGN,
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
  type CommDType,
  type SharedGroup,
} from './layout.ts';

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
  private sendQ: Promise<unknown>[];
  private recvQ: Promise<unknown>[];
  /** Local copies of the positions this rank owns: write of its outgoing links, read of incoming. */
  private wpos: Int32Array;
  private rpos: Int32Array;
  timeline: SendEvent[] = [];
  dropped = 0;
  bytesReceived = 0;
  messagesReceived = 0;
  vclock = 0;
  private tracked = new Map<ArrayBufferLike, { bytes: number; tag: string }>();
  live = 0;
  peak = 0;

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
    this.sendQ = Array.from({ length: g.size }, () => Promise.resolve());
    this.recvQ = Array.from({ length: g.size }, () => Promise.resolve());
    this.wpos = new Int32Array(g.size);
    this.rpos = new Int32Array(g.size);
  }

  get size(): number {
    return this.g.size;
  }

  /** A new job: the main thread has zeroed the shared words; local state follows. */
  resetForJob(): void {
    this.sendQ = Array.from({ length: this.size }, () => Promise.resolve());
    this.recvQ = Array.from({ length: this.size }, () => Promise.resolve());
    this.wpos.fill(0);
    this.rpos.fill(0);
    this.timeline = [];
    this.dropped = 0;
    this.bytesReceived = 0;
    this.messagesReceived = 0;
    this.vclock = 0;
    this.tracked.clear();
    this.live = 0;
    this.peak = 0;
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
    const p = this.sendQ[d]!.then(() => this.sendNow(d, arr.dtype, arr.bytes));
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
      if (reduce && arr.dtype !== 'float32' && arr.dtype !== 'float64' && arr.dtype !== 'int32')
        throw new TypeError(`recvReduce from rank ${s}: the accumulator must be a Float32Array, Float64Array or Int32Array`);
    } catch (e) {
      return Promise.reject(e);
    }
    const p = this.recvQ[s]!.then(() => this.recvNow(s, out as AnyArray, arr.dtype, arr.bytes, reduce));
    this.recvQ[s] = p.catch(() => {});
    return p;
  }

  /** Writes `src` into the ring of link (rank -> dst) at ring position pos, wrapping. */
  private put(base: number, pos: number, src: Uint8Array): void {
    const first = mathMin(src.length, this.cap - pos);
    u8set.call(this.ring, first === src.length ? src : src.subarray(0, first), base + pos);
    if (first < src.length) u8set.call(this.ring, src.subarray(first), base);
  }

  private async sendNow(dst: number, dtype: CommDType, payload: Uint8Array): Promise<void> {
    const t0 = this.now();
    const size = this.size;
    const ctrl = this.ctrl;
    const wi = linkWord(size, this.rank, dst, L_WRITE);
    const ri = linkWord(size, this.rank, dst, L_READ);
    const base = ringBase(this.g, this.rank, dst);
    const len = payload.byteLength;
    const padded = (len + FRAME_ALIGN - 1) & ~(FRAME_ALIGN - 1);
    const total = FRAME_ALIGN + padded;
    let w = this.wpos[dst]!;
    let done = 0;
    while (done < total) {
      // Wait for a quarter of the ring (or the rest of the message) to be free: fewer, larger copies.
      const need = mathMin(total - done, this.cap >> 2);
      let r = A_load(ctrl, ri);
      let free = this.cap - ((w - r) >>> 0);
      if (free < need) {
        A_store(ctrl, linkWord(size, this.rank, dst, L_SEND_NEED), need);
        while (free < need) {
          await waitChange(ctrl, ri, r);
          r = A_load(ctrl, ri);
          free = this.cap - ((w - r) >>> 0);
        }
        A_store(ctrl, linkWord(size, this.rank, dst, L_SEND_NEED), 0);
      }
      const n = mathMin(free, total - done);
      let pos = w & this.mask;
      let from = done;
      const to = done + n;
      if (from === 0) {
        // The header: payload length, dtype, and the sender's virtual clock.
        const hi = (base + pos) >> 2;
        this.ringI32[hi] = len;
        this.ringI32[hi + 1] = DTYPE_CODES[dtype];
        this.ringF64[((base + pos) >> 3) + 1] = this.vclock;
        pos = (pos + FRAME_ALIGN) & this.mask;
        from = FRAME_ALIGN;
      }
      const a = from - FRAME_ALIGN;
      const b = mathMin(to - FRAME_ALIGN, len);
      if (b > a) this.put(base, pos, payload.subarray(a, b));
      w = (w + n) | 0;
      done = to;
      A_store(ctrl, wi, w);
      A_notify(ctrl, wi);
      this.progress();
    }
    this.wpos[dst] = w;
    const ci = counterIndex(size, this.rank, dst, C_BYTES);
    this.counters[ci] += len;
    this.counters[counterIndex(size, this.rank, dst, C_MESSAGES)] += 1;
    if (this.timeline.length < TIMELINE_CAP) this.timeline.push({ t0, t1: this.now(), src: this.rank, dst, bytes: len });
    else this.dropped++;
  }

  /** Waits until link (src -> rank) holds at least `need` unread bytes. */
  private async waitData(src: number, r: number, need: number): Promise<number> {
    const size = this.size;
    const wi = linkWord(size, src, this.rank, L_WRITE);
    let w = A_load(this.ctrl, wi);
    if (((w - r) >>> 0) >= need) return w;
    A_store(this.ctrl, linkWord(size, src, this.rank, L_RECV_NEED), need);
    while (((w - r) >>> 0) < need) {
      await waitChange(this.ctrl, wi, w);
      w = A_load(this.ctrl, wi);
    }
    A_store(this.ctrl, linkWord(size, src, this.rank, L_RECV_NEED), 0);
    return w;
  }

  private async recvNow(src: number, out: AnyArray, dtype: CommDType, outBytes: Uint8Array, reduce: boolean): Promise<void> {
    const size = this.size;
    const ctrl = this.ctrl;
    const ri = linkWord(size, src, this.rank, L_READ);
    const base = ringBase(this.g, src, this.rank);
    let r = this.rpos[src]!;
    let w = await this.waitData(src, r, FRAME_ALIGN);
    const hpos = base + (r & this.mask);
    const len = this.ringI32[hpos >> 2]!;
    const code = this.ringI32[(hpos >> 2) + 1]!;
    const vtime = this.ringF64[(hpos >> 3) + 1]!;
    const sentType = DTYPE_NAMES[code] ?? `dtype ${code}`;
    const what = reduce ? 'recvReduce' : 'recv';
    if (sentType !== dtype || len !== outBytes.byteLength) {
      const el = (bytes: number, t: string) => `${bytes / (CTORS[t as CommDType]?.BYTES_PER_ELEMENT ?? 1)} ${t} element(s)`;
      throw new RangeError(
        `rank ${this.rank} ${what} from rank ${src}: the message holds ${el(len, sentType)} (${len} bytes) ` +
          `but the buffer holds ${el(outBytes.byteLength, dtype)} (${outBytes.byteLength} bytes): ` +
          `receives must match the sends on a link one for one, in order, with the same length and dtype`,
      );
    }
    r = (r + FRAME_ALIGN) | 0;
    A_store(ctrl, ri, r);
    A_notify(ctrl, ri);
    const padded = (len + FRAME_ALIGN - 1) & ~(FRAME_ALIGN - 1);
    let got = 0;
    while (got < padded) {
      let avail = (w - r) >>> 0;
      if (avail === 0) {
        w = await this.waitData(src, r, FRAME_ALIGN);
        avail = (w - r) >>> 0;
      }
      const n = mathMin(avail, padded - got);
      // The payload part of [got, got + n), possibly in two pieces around the ring's end.
      let a = got;
      const b = mathMin(got + n, len);
      let pos = r & this.mask;
      while (a < b) {
        const m = mathMin(b - a, this.cap - pos);
        if (reduce) this.addInto(out, a, base + pos, m);
        else u8set.call(outBytes, this.ring.subarray(base + pos, base + pos + m), a);
        a += m;
        pos = (pos + m) & this.mask;
      }
      r = (r + n) | 0;
      got += n;
      A_store(ctrl, ri, r);
      A_notify(ctrl, ri);
      this.progress();
    }
    this.rpos[src] = r;
    this.counters[counterIndex(size, src, this.rank, C_RECEIVED)] += 1;
    this.bytesReceived += len;
    this.messagesReceived++;
    this.vclock = mathMax(this.vclock, vtime);
  }

  /** out[a/eb ..] += ring elements at byte offset `at`, m bytes. */
  private addInto(out: AnyArray, a: number, at: number, m: number): void {
    if (out instanceof Float32Array) {
      const o = a >> 2;
      const k = at >> 2;
      const n = m >> 2;
      const ring = this.ringF32;
      for (let i = 0; i < n; i++) out[o + i] += ring[k + i]!;
    } else if (out instanceof Float64Array) {
      const o = a >> 3;
      const k = at >> 3;
      const n = m >> 3;
      const ring = this.ringF64;
      for (let i = 0; i < n; i++) out[o + i] += ring[k + i]!;
    } else {
      const o = a >> 2;
      const k = at >> 2;
      const n = m >> 2;
      const ring = this.ringI32;
      for (let i = 0; i < n; i++) out[o + i] = (out[o + i]! + ring[k + i]!) | 0;
    }
  }

  async barrier(): Promise<void> {
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
    while (A_load(ctrl, gi) === gen) await waitChange(ctrl, gi, gen);
    A_store(ctrl, rankWord(size, this.rank, R_BARRIER_WAIT), 0);
  }

  alloc(n: unknown, dtype: unknown = 'float32', tag: unknown = ''): AnyArray {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw new RangeError(`alloc: the length must be a non-negative integer, got ${String(n)}`);
    if (typeof dtype !== 'string' || !(dtype in CTORS)) throw new TypeError(`alloc: dtype must be one of ${Object.keys(CTORS).join(', ')}, got ${String(dtype)}`);
    const a = new CTORS[dtype as CommDType](n);
    const bytes = a.byteLength;
    this.tracked.set(a.buffer, { bytes, tag: String(tag) });
    this.live += bytes;
    if (this.live > this.peak) this.peak = this.live;
    return a;
  }

  free(a: unknown): void {
    const buf = ArrayBuffer.isView(a) ? a.buffer : null;
    const t = buf ? this.tracked.get(buf) : undefined;
    if (!buf || !t) throw new Error('free: this array was not allocated with comm.alloc, or it was freed already');
    this.tracked.delete(buf);
    this.live -= t.bytes;
  }

  memory(): MemoryFigures {
    const byTag: Record<string, number> = {};
    for (const { bytes, tag } of this.tracked.values()) byTag[tag] = (byTag[tag] ?? 0) + bytes;
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
   * Sends a copy of `data` to rank `dst`. Resolves once the message is in the link's buffer
   * (at once when it fits); do not change `data` before then. Messages larger than the link's
   * buffer need the receiver to be receiving: start both, then await both.
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

  /** A zero-filled array of n elements, counted in this rank's memory until `free`. */
  alloc(n: number, dtype?: 'float32', tag?: string): Float32Array;
  alloc(n: number, dtype: 'float64', tag?: string): Float64Array;
  alloc(n: number, dtype: 'int32', tag?: string): Int32Array;
  alloc(n: number, dtype: 'uint8', tag?: string): Uint8Array;
  alloc(n: number, dtype: CommDType = 'float32', tag = ''): AnyArray {
    return this.#core.alloc(n, dtype, tag);
  }

  /** Gives back an array from alloc (it no longer counts; do not use it afterwards). */
  free(a: AnyArray): void {
    this.#core.free(a);
  }
}
