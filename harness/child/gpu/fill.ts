// Deterministic inputs from a seed, generated the same way on the GPU (for the kernel under test)
// and on the CPU (for the trusted side's oracle): element i of a filled array is a function of
// (seed, i) only, through an integer hash, so the two agree bit for bit. Large inputs then never
// cross the process boundary: the harness sends a seed and the child fills the GPU buffer.
//
//   h     = mix32(i xor mix32(seed))                          (lowbias32 by C. Wellons)
//   u     = (h >> 8) * 2^-23 - 1                               uniform in [-1, 1), step 2^-23
//   int   = (h mod 17) - 8                                     an integer in [-8, 8]
//   value = (u or int) * scale + offset                        scale a power of two: exact in f32
//
// No Dawn import here: the trusted side uses the CPU half.

export type FillKind = 'uniform' | 'int';

/**
 * The bits outputs are filled with before every run: a quiet NaN with a payload arithmetic does
 * not produce (computed NaNs are 0x7fc00000, 0xffc00000 or 0x7fffffff), so an element that still
 * holds exactly these bits was never written.
 */
export const POISON_BITS = 0x7fc0dead;

export interface FillSpec {
  seed: number;
  kind: FillKind;
  /** A power of two (so that scaling is exact in float32). */
  scale: number;
  offset: number;
  /** Number of float32 elements. */
  n: number;
}

export function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x = (x ^ (x >>> 16)) >>> 0;
  return x;
}

export function checkFillSpec(s: FillSpec): void {
  if (!(s.scale > 0) || Math.log2(s.scale) !== Math.round(Math.log2(s.scale))) throw new Error(`fill scale must be a power of two, got ${s.scale}`);
  if (Math.fround(s.offset) !== s.offset) throw new Error(`fill offset must be a float32 value, got ${s.offset}`);
  if (!Number.isInteger(s.n) || s.n < 0 || s.n >= 2 ** 32) throw new Error(`fill size out of range: ${s.n}`);
}

/** Element i of the filled array (a float32 value). */
export function fillValue(s: FillSpec, key: number, i: number): number {
  const h = mix32((i ^ key) >>> 0);
  const base = s.kind === 'int' ? (h % 17) - 8 : (h >>> 8) * 2 ** -23 - 1;
  return Math.fround(base * s.scale + s.offset);
}

export function fillKey(s: FillSpec): number {
  return mix32(s.seed >>> 0);
}

/** Elements [start, start + count) of the filled array. */
export function fillRange(s: FillSpec, start: number, count: number): Float32Array {
  const out = new Float32Array(count);
  const key = fillKey(s);
  for (let j = 0; j < count; j++) out[j] = fillValue(s, key, start + j);
  return out;
}

/** The whole filled array. */
export function fillCpu(s: FillSpec): Float32Array {
  return fillRange(s, 0, s.n);
}

/** The GPU half: same hash, same arithmetic (see the header). */
export const FILL_WGSL = /* wgsl */ `
struct Fill { n: u32, key: u32, kind: u32, pad: u32, scale: f32, offset: f32 }
@group(0) @binding(0) var<uniform> p: Fill;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;

fn mix32(x0: u32) -> u32 {
  var x = x0;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < p.n; i += stride) {
    let h = mix32(i ^ p.key);
    var base: f32;
    if (p.kind == 1u) {
      base = f32(h % 17u) - 8.0;
    } else {
      base = f32(h >> 8u) * (1.0 / 8388608.0) - 1.0;
    }
    y[i] = base * p.scale + p.offset;
  }
}
`;
