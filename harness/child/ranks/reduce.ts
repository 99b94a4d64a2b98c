// The element-wise additions of recvReduce as WebAssembly SIMD (reduce.wat) over the receiving
// rank's own arena. Adding 32 MiB that lie in another rank's arena took 2.8-3.0x the time of
// copying them with the transport's JavaScript loop, and 1.3-1.5x with this (an addition reads
// two streams and writes one, a copy reads one and writes one: about 1.5x is the memory's bound),
// on a 2-core Xeon (npm run bench:reduce). WebAssembly reaches one memory (the receiver's), so
// the incoming bytes are staged through its scratch, a piece at a time, small enough to stay in
// cache. Results are bit-identical to the JavaScript loop's (a float32 sum rounded once,
// integers wrapping).
import type { AnyArray } from './comm.ts';
import { REDUCE_WASM_BASE64 } from './reduce-wasm.ts';

type Kernel = (dst: number, src: number, n: number) => void;

const u8set = Uint8Array.prototype.set;
const mathMin = Math.min;

export class WasmReducer {
  private readonly mem8: Uint8Array;
  private readonly f32: Kernel;
  private readonly f64: Kernel;
  private readonly i32: Kernel;

  /** `scratchAt`: byte offset of `scratchBytes` bytes of `memory` that nothing else uses. */
  constructor(
    memory: WebAssembly.Memory,
    private readonly scratchAt: number,
    private readonly scratchBytes: number,
  ) {
    if (scratchAt % 16 || scratchBytes < 64 || scratchBytes % 64) throw new RangeError('internal: reduction scratch must be 16-byte aligned, a multiple of 64 bytes');
    const mod = new WebAssembly.Module(Buffer.from(REDUCE_WASM_BASE64, 'base64'));
    const ex = new WebAssembly.Instance(mod, { env: { mem: memory } }).exports as Record<string, Kernel>;
    this.f32 = ex.add_f32!;
    this.f64 = ex.add_f64!;
    this.i32 = ex.add_i32!;
    this.mem8 = new Uint8Array(memory.buffer);
  }

  /**
   * out's bytes [a, a + m) += the elements in bytes [at, at + m) of `from` (any memory). `out`
   * must lie in this reducer's memory (a view of its buffer); a, at and m are multiples of the
   * element size.
   */
  add(out: AnyArray, a: number, from: Uint8Array, at: number, m: number): void {
    const kernel = out instanceof Float32Array ? this.f32 : out instanceof Float64Array ? this.f64 : this.i32;
    const shift = out instanceof Float64Array ? 3 : 2;
    const dst = out.byteOffset + a;
    const s = this.scratchAt;
    for (let k = 0; k < m; k += this.scratchBytes) {
      const c = mathMin(this.scratchBytes, m - k);
      u8set.call(this.mem8, from.subarray(at + k, at + k + c), s);
      kernel(dst + k, s, c >> shift);
    }
  }
}
