// Project 3's kernel contract, shared by the trusted side (project.ts) and the submission's side
// (child.ts): for each kernel family, its tensors (binding order, shapes, row-major), the fields
// of the sizes uniform, and which output elements are checked when an output is too large to
// bring back whole. README.md documents the same contract for students.
import { mix32, type FillSpec } from '../../harness/child/gpu/fill.ts';

export type Family = 'matmul' | 'softmax' | 'layernorm' | 'reduce_sum' | 'transpose' | 'attention_fwd';

/** The matmul progression: each stage is its own WGSL file and its own task. */
export const MATMUL_STAGES = ['matmul_naive', 'matmul_coalesced', 'matmul_tiled', 'matmul_regblock', 'matmul_vec4'] as const;

export const TASKS = [...MATMUL_STAGES, 'matmul', 'softmax', 'layernorm', 'reduce_sum', 'transpose', 'attention_fwd'] as const;
export type TaskId = (typeof TASKS)[number];

export function familyOf(task: string): Family {
  if (task.startsWith('matmul')) return 'matmul';
  if ((['softmax', 'layernorm', 'reduce_sum', 'transpose', 'attention_fwd'] as string[]).includes(task)) return task as Family;
  throw new Error(`internal: no kernel family for task '${task}'`);
}

export interface MatmulDims {
  M: number;
  N: number;
  K: number;
}
export interface RowsDims {
  rows: number;
  cols: number;
}
export interface LayernormDims extends RowsDims {
  eps: number;
}
export interface AttentionDims {
  B: number;
  H: number;
  Sq: number;
  Sk: number;
  D: number;
  causal: boolean;
}
export type Dims = MatmulDims | RowsDims | LayernormDims | AttentionDims;

export interface TensorDecl {
  name: string;
  shape: number[];
}

export interface UniformFieldDecl {
  name: string;
  type: 'u32' | 'f32';
  value: number;
}

export interface KernelIO {
  /** Bound at 1..n, in this order, as `var<storage, read>`. */
  inputs: TensorDecl[];
  /** Bound after the inputs, as `var<storage, read_write>`. */
  outputs: TensorDecl[];
  /** The `Sizes` struct at binding 0 (`var<uniform>`), field by field. */
  uniform: UniformFieldDecl[];
}

export const attentionScale = (D: number) => 1 / Math.sqrt(D);

export function kernelIO(family: Family, dims: Dims): KernelIO {
  const u = (name: string, value: number): UniformFieldDecl => ({ name, type: 'u32', value });
  switch (family) {
    case 'matmul': {
      const { M, N, K } = dims as MatmulDims;
      return {
        inputs: [
          { name: 'a', shape: [M, K] },
          { name: 'b', shape: [K, N] },
        ],
        outputs: [{ name: 'c', shape: [M, N] }],
        uniform: [u('M', M), u('N', N), u('K', K)],
      };
    }
    case 'softmax': {
      const { rows, cols } = dims as RowsDims;
      return { inputs: [{ name: 'x', shape: [rows, cols] }], outputs: [{ name: 'y', shape: [rows, cols] }], uniform: [u('rows', rows), u('cols', cols)] };
    }
    case 'layernorm': {
      const { rows, cols, eps } = dims as LayernormDims;
      return {
        inputs: [
          { name: 'x', shape: [rows, cols] },
          { name: 'gamma', shape: [cols] },
          { name: 'beta', shape: [cols] },
        ],
        outputs: [{ name: 'y', shape: [rows, cols] }],
        uniform: [u('rows', rows), u('cols', cols), { name: 'eps', type: 'f32', value: eps }],
      };
    }
    case 'reduce_sum': {
      const { rows, cols } = dims as RowsDims;
      return { inputs: [{ name: 'x', shape: [rows, cols] }], outputs: [{ name: 'y', shape: [rows] }], uniform: [u('rows', rows), u('cols', cols)] };
    }
    case 'transpose': {
      const { rows, cols } = dims as RowsDims;
      return { inputs: [{ name: 'x', shape: [rows, cols] }], outputs: [{ name: 'y', shape: [cols, rows] }], uniform: [u('rows', rows), u('cols', cols)] };
    }
    case 'attention_fwd': {
      const { B, H, Sq, Sk, D, causal } = dims as AttentionDims;
      return {
        inputs: [
          { name: 'q', shape: [B, H, Sq, D] },
          { name: 'k', shape: [B, H, Sk, D] },
          { name: 'v', shape: [B, H, Sk, D] },
        ],
        outputs: [{ name: 'o', shape: [B, H, Sq, D] }],
        uniform: [u('B', B), u('H', H), u('Sq', Sq), u('Sk', Sk), u('D', D), u('causal', causal ? 1 : 0), { name: 'scale', type: 'f32', value: Math.fround(attentionScale(D)) }],
      };
    }
  }
}

/** What the trusted side sends for one call: sizes and seeds, never the tensors themselves. */
export interface WireInputs {
  dims: Dims;
  fills: Record<string, FillSpec>;
  /** 'full': every output element comes back; 'sampled': a scan for NaN/Inf plus sampled elements. */
  verify: 'full' | 'sampled';
  sample_seed: number;
  /** Measure the machine's limits (copy bandwidth, FMA rate) once per process, for rooflines. */
  probe: boolean;
  /** Sized for a GPU: refused on a CPU fallback adapter. */
  gpu_scale: boolean;
  /** A library implementation (a named baseline) may answer this case. */
  allow_library: boolean;
  /** Watchdog for one run of the kernel, in ms. */
  watchdog_ms: number;
}

/** The output seen as a matrix [rows, cols] (row-major), for sampling. */
export function outputMatrix(family: Family, dims: Dims): [number, number] {
  const io = kernelIO(family, dims);
  const s = io.outputs[0]!.shape;
  if (s.length === 1) return [1, s[0]!];
  const cols = s[s.length - 1]!;
  return [s.reduce((a, b) => a * b, 1) / cols, cols];
}

/**
 * The output elements checked in 'sampled' mode (flat row-major indices, sorted, distinct):
 * `count` positions drawn from the seed, the first and last rows and the last column (where
 * edge bugs live). For attention, whole rows (64 drawn rows and the last one).
 */
export function sampleIndices(family: Family, dims: Dims, seed: number, count = 4096): Uint32Array {
  const [R, C] = outputMatrix(family, dims);
  const n = R * C;
  if (n <= count) return Uint32Array.from({ length: n }, (_, i) => i);
  const set = new Set<number>();
  const key = mix32(seed >>> 0);
  const draw = (t: number, m: number) => mix32((t ^ key) >>> 0) % m;
  if (family === 'attention_fwd') {
    const rows = new Set<number>([0, R - 1]);
    for (let t = 0; rows.size < Math.min(R, 66); t++) rows.add(draw(t, R));
    for (const r of rows) for (let c = 0; c < C; c++) set.add(r * C + c);
  } else {
    const edge = Math.min(2048, C);
    for (let c = 0; c < edge; c++) {
      set.add(c); // first row
      set.add((R - 1) * C + (C - edge) + c); // last row
    }
    for (let r = 0; r < R; r += Math.max(1, Math.floor(R / 2048))) set.add(r * C + C - 1); // last column
    set.add(n - 1);
    for (let t = 0; t < count; t++) set.add(draw(t, n));
  }
  return Uint32Array.from([...set].sort((a, b) => a - b));
}

/** The flat index as [i, j, ...] for the output's shape. */
export function unravel(i: number, shape: readonly number[]): string {
  const idx: number[] = [];
  for (let d = shape.length - 1; d >= 0; d--) {
    idx.unshift(i % shape[d]!);
    i = Math.floor(i / shape[d]!);
  }
  return `[${idx.join(', ')}]`;
}

/** Rules a stage of the matmul progression must follow (checked on its WGSL source). */
export const STAGE_RULES: Record<string, { pattern: RegExp; message: string }[]> = {
  matmul_tiled: [{ pattern: /var\s*<\s*workgroup\s*>/, message: 'this stage is about workgroup-memory tiling, but the kernel declares no var<workgroup> array' }],
  matmul_regblock: [{ pattern: /var\s*<\s*workgroup\s*>/, message: 'this stage builds on workgroup-memory tiling, but the kernel declares no var<workgroup> array' }],
  matmul_vec4: [
    {
      pattern: /array\s*<\s*vec4\s*(<\s*f32\s*>|f)\s*>/,
      message: 'this stage is about vectorized loads, but no storage buffer is declared as array<vec4<f32>> (or array<vec4f>)',
    },
  ],
};
