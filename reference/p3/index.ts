// Project 3, the reference kernels: one launch description per task (see projects/p3/api.ts and
// projects/p3/README.md for the contract). The WGSL files are beside this one.
import type { AttentionSizes, DeviceInfo, Grid, Launch, LayernormSizes, MatmulSizes, MultiPassKernel, RowsSizes } from '../../projects/p3/api.ts';

const cdiv = (a: number, b: number) => Math.ceil(a / b);

/** One workgroup per row, as a 2-D grid when there are more rows than one dimension allows. */
const perRow = (rows: number, d: DeviceInfo): Grid => {
  const x = Math.min(rows, d.maxComputeWorkgroupsPerDimension);
  return [x, cdiv(rows, x)];
};

export const matmul_naive: Launch<MatmulSizes> = {
  file: 'matmul_naive.wgsl',
  overrides: { WG_X: 16, WG_Y: 16 },
  workgroups: ({ M, N }) => [cdiv(M, 16), cdiv(N, 16)],
};

export const matmul_coalesced: Launch<MatmulSizes> = {
  file: 'matmul_coalesced.wgsl',
  overrides: { WG_X: 32, WG_Y: 8 },
  workgroups: ({ M, N }) => [cdiv(N, 32), cdiv(M, 8)],
};

export const matmul_tiled: Launch<MatmulSizes> = {
  file: 'matmul_tiled.wgsl',
  overrides: { TILE: 16 },
  workgroups: ({ M, N }) => [cdiv(N, 16), cdiv(M, 16)],
};

export const matmul_regblock: Launch<MatmulSizes> = {
  file: 'matmul_regblock.wgsl',
  overrides: { BK: 16 },
  workgroups: ({ M, N }) => [cdiv(N, 64), cdiv(M, 64)],
};

export const matmul_vec4: Launch<MatmulSizes> = {
  file: 'matmul_vec4.wgsl',
  overrides: { BK: 8 },
  workgroups: ({ M, N }) => [cdiv(N, 128), cdiv(M, 128)],
};

export const matmul = matmul_vec4;

/** Rows of 8k to 32k floats (a multiple of 4) are held in registers (softmax.wgsl says why). */
const rowInRegisters = ({ cols }: RowsSizes, d: DeviceInfo) => cols % 4 === 0 && cols > 8192 && cols <= 32768 && d.maxComputeInvocationsPerWorkgroup >= 1024;

export const softmax: Launch<RowsSizes> = {
  file: 'softmax.wgsl',
  overrides: (s, d) => (rowInRegisters(s, d) ? { WG: 1024, REGS: 1 } : { WG: 256, REGS: 0 }),
  workgroups: ({ rows }, d) => perRow(rows, d),
};

export const layernorm: Launch<LayernormSizes> = {
  file: 'layernorm.wgsl',
  overrides: { WG: 256 },
  workgroups: ({ rows }, d) => perRow(rows, d),
};

// Keep in step with groups() in reduce_sum.wgsl.
const CHUNK = 8192;
const MAXG = 1024;
const groups = (cols: number) => Math.min(Math.max(cdiv(cols, CHUNK), 1), MAXG);

export const reduce_sum: MultiPassKernel<RowsSizes> = {
  passes: [
    { file: 'reduce_sum.wgsl', entryPoint: 'partial', overrides: { CHUNK, MAXG }, workgroups: ({ rows, cols }) => [groups(cols), rows] },
    { file: 'reduce_sum.wgsl', entryPoint: 'finish', overrides: { CHUNK, MAXG }, workgroups: ({ rows, cols }) => (groups(cols) === 1 ? [1] : [rows]) },
  ],
  scratch: ({ rows, cols }) => (groups(cols) === 1 ? 0 : rows * groups(cols)),
};

export const transpose: Launch<RowsSizes> = {
  file: 'transpose.wgsl',
  // Column-major tile order when y's rows are not whole 128-byte lines (transpose.wgsl says why).
  overrides: ({ rows }) => ({ COLUMN_ORDER: rows % 32 === 0 ? 0 : 1 }),
  workgroups: ({ rows, cols }) => [cdiv(cols, 32), cdiv(rows, 32)],
};

/**
 * Tile sizes and thread layout by head dim: (BQ/RS)·(BK/KS) = (BQ/RO)·(D/4/VO) = 128 threads.
 * With 48 KiB of workgroup memory (NVIDIA), D = 64 takes 64 queries per workgroup.
 */
function attentionTiles(D: number, d: DeviceInfo): Record<string, number> {
  const big = d.maxComputeWorkgroupStorageSize >= 40 * 1024;
  if (D === 64) return big ? { HD: 64, BQ: 64, BK: 32, RS: 4, KS: 4, RO: 4, VO: 2 } : { HD: 64, BQ: 32, BK: 32, RS: 2, KS: 4, RO: 2, VO: 2 };
  if (D === 128) return { HD: 128, BQ: 32, BK: 16, RS: 2, KS: 2, RO: 2, VO: 4 };
  throw new Error(`attention_fwd: head dim ${D} is not supported (64 or 128)`);
}

export const attention_fwd: Launch<AttentionSizes> = {
  file: 'attention_fwd.wgsl',
  overrides: ({ D }, d) => attentionTiles(D, d),
  workgroups: ({ B, H, Sq, D }, d) => [cdiv(Sq, attentionTiles(D, d).BQ!), B * H],
};
