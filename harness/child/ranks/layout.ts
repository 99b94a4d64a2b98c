// The shared memory of a group of ranks, as both sides see it: the control words (per link, per
// rank, global), the links' data rings, and the traffic counters. Created by the main thread of
// the submission's process, handed to every rank's thread once, never copied.

/** Bytes of each directed link's ring (a power of two): a message larger than this streams through it. */
export const DEFAULT_LINK_BYTES = 1 << 20;
/** Every message starts with a header of this many bytes; payloads are padded to this multiple. */
export const FRAME_ALIGN = 16;
/**
 * Bytes of each rank's arena: the shared memory comm.alloc (and the project's ctx.alloc) hand
 * out, which other ranks read directly (a message from it is copied once, by the receiver).
 * Pages are only touched when used, but the address space is reserved: a project asks for more
 * (PoolSpec.arenaBytes) when its buffers are large. Allocations beyond it are plain arrays.
 */
export const DEFAULT_ARENA_BYTES = 32 << 20;
/**
 * Messages up to this size are eager: the send completes once the message is in the link's
 * buffer. Larger ones complete when the receiver has received them (rendezvous).
 */
export const EAGER_BYTES = 64 << 10;

// Header kinds (in the high bits of the header's code word).
export const KIND_INLINE = 0; // the payload follows in the ring
export const KIND_ARENA = 1; // the payload is in the sender's arena: [offset, pad] follow the header

// Words of one directed link src -> dst in `ctrl` (Int32).
export const L_WRITE = 0; // bytes written so far (wrapping int32), stored by the sender
export const L_READ = 1; // bytes consumed so far (wrapping int32), stored by the receiver
export const L_SEND_NEED = 2; // > 0 while the sender waits for this much free space
export const L_RECV_NEED = 3; // > 0 while the receiver waits for this much data
export const L_ACKED = 4; // messages the receiver has taken in full, stored by the receiver
export const L_ACK_WAIT = 5; // > 0 while the sender waits for L_ACKED to reach this
export const LINK_WORDS = 8;

// Words of one rank in `ctrl`.
export const R_STATUS = 0;
export const R_BARRIER_WAIT = 1; // barrier generation + 1 while waiting at a barrier, else 0
export const R_PING = 2; // bumped by the watchdog
export const R_PONG = 3; // set to R_PING by the rank's event loop when it is free
export const RANK_WORDS = 4;

export const STATUS_IDLE = 0;
export const STATUS_RUNNING = 1;
export const STATUS_DONE = 2;
export const STATUS_FAILED = 3;

// Global words in `ctrl`.
export const G_PROGRESS = 0; // bumped on every move of data and every barrier release
export const G_BARRIER_COUNT = 1;
export const G_BARRIER_GEN = 2;
export const GLOBAL_WORDS = 4;

// Per link in `counters` (Float64): bytes and messages written by the link's sender, messages
// received written by its receiver.
export const C_BYTES = 0;
export const C_MESSAGES = 1;
export const C_RECEIVED = 2;
export const COUNTER_WORDS = 3;

export const DTYPE_CODES = { float32: 1, float64: 2, int32: 3, uint8: 4 } as const;
export type CommDType = keyof typeof DTYPE_CODES;
export const DTYPE_NAMES: Record<number, CommDType> = { 1: 'float32', 2: 'float64', 3: 'int32', 4: 'uint8' };

/**
 * Bytes after each rank's arena (in its WebAssembly memory) where recvReduce stages a piece of
 * the incoming message, so that the reduction runs as WebAssembly SIMD over the rank's own
 * memory (reduce.wat): WebAssembly reaches one memory only, the receiver's.
 */
export const SCRATCH_BYTES = 32 << 10;
const WASM_PAGE = 1 << 16;
const WASM_MAX_PAGES = 65536;

export interface SharedGroup {
  size: number;
  linkBytes: number;
  arenaBytes: number;
  ctrl: SharedArrayBuffer;
  data: SharedArrayBuffer;
  counters: SharedArrayBuffer;
  /** One per rank (each a WebAssembly memory's buffer when `arenaMemories` is set). */
  arenas: SharedArrayBuffer[];
  /**
   * The arenas as shared WebAssembly memories (arena, then SCRATCH_BYTES of scratch), or null
   * where the process does not run with --disable-wasm-trap-handler (wasmArenasAllowed) or they
   * could not be made; reductions then run in plain JavaScript.
   */
  arenaMemories: WebAssembly.Memory[] | null;
}

const NO_GUARDS_FLAG = '--disable-wasm-trap-handler';

/**
 * Whether this process's WebAssembly memories reserve only their own size. With trap-handler
 * bounds checks (node's default) each reserves ~10 GiB of address space for guard regions, and
 * a few pools' arenas would take all of the sandbox's 64 GiB: the threads, heaps and buffers
 * that need it after them would then fail. So arenas are WebAssembly memories only where node
 * runs with --disable-wasm-trap-handler (Project.nodeFlags): the same for every group of a process.
 */
export function wasmArenasAllowed(): boolean {
  return process.execArgv.includes(NO_GUARDS_FLAG) || (process.env.NODE_OPTIONS ?? '').split(/\s+/).includes(NO_GUARDS_FLAG);
}

/** One shared WebAssembly memory per rank, arena and scratch; null where that cannot or should not be. */
function wasmArenas(size: number, arenaBytes: number): WebAssembly.Memory[] | null {
  const pages = Math.ceil((arenaBytes + SCRATCH_BYTES) / WASM_PAGE);
  if (typeof WebAssembly !== 'object' || pages > WASM_MAX_PAGES || !wasmArenasAllowed()) return null;
  try {
    return Array.from({ length: size }, () => new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true }));
  } catch {
    return null; // out of memory: plain SharedArrayBuffers for all, not a mix
  }
}

export function createGroup(size: number, linkBytes = DEFAULT_LINK_BYTES, arenaBytes = DEFAULT_ARENA_BYTES): SharedGroup {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`a group needs at least one rank, got ${size}`);
  if (linkBytes < 1024 || (linkBytes & (linkBytes - 1)) !== 0 || linkBytes > 2 ** 30)
    throw new RangeError(`linkBytes must be a power of two between 1 KiB and 1 GiB, got ${linkBytes}`);
  if (!Number.isInteger(arenaBytes) || arenaBytes < 0 || arenaBytes % 64) throw new RangeError(`arenaBytes must be a multiple of 64, got ${arenaBytes}`);
  const words = size * size * LINK_WORDS + size * RANK_WORDS + GLOBAL_WORDS;
  const memories = wasmArenas(size, arenaBytes);
  return {
    size,
    linkBytes,
    ctrl: new SharedArrayBuffer(words * 4),
    // Pages of a ring are only touched when its link carries data.
    data: new SharedArrayBuffer(size * size * linkBytes),
    counters: new SharedArrayBuffer(size * size * COUNTER_WORDS * 8),
    arenaBytes,
    arenas: memories ? memories.map((m) => m.buffer as unknown as SharedArrayBuffer) : Array.from({ length: size }, () => new SharedArrayBuffer(arenaBytes)),
    arenaMemories: memories,
  };
}

/** Index helpers over `ctrl` (Int32 words). */
export function linkWord(size: number, src: number, dst: number, w: number): number {
  return (src * size + dst) * LINK_WORDS + w;
}
export function rankWord(size: number, rank: number, w: number): number {
  return size * size * LINK_WORDS + rank * RANK_WORDS + w;
}
export function globalWord(size: number, w: number): number {
  return size * size * LINK_WORDS + size * RANK_WORDS + w;
}
/** Byte offset of the ring of link src -> dst in `data`. */
export function ringBase(g: SharedGroup, src: number, dst: number): number {
  return (src * g.size + dst) * g.linkBytes;
}
export function counterIndex(size: number, src: number, dst: number, w: number): number {
  return (src * size + dst) * COUNTER_WORDS + w;
}

/** Puts every link, rank word and counter back to zero (no rank may be running). */
export function resetGroup(g: SharedGroup): void {
  new Int32Array(g.ctrl).fill(0);
  new Float64Array(g.counters).fill(0);
}
