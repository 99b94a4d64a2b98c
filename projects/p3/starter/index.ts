// Project 3 starter: one launch description per kernel, each naming a WGSL file beside this one.
// The kernels are empty: every case fails with "output ... was not written" until you write
// them. The contract (bindings, sizes, layouts) is in projects/p3/README.md, the types in
// projects/p3/api.ts. Run: npx mlsys test p3 <this folder>
import type { AttentionSizes, Launch, LayernormSizes, MatmulSizes, MultiPassKernel, RowsSizes } from '../api.ts';

const cdiv = (a: number, b: number) => Math.ceil(a / b);

// One thread per element of C: x over rows, y over columns (stage 2 swaps them: why?).
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

// 64 x 64 outputs per workgroup of 256 threads: 4 x 4 per thread.
export const matmul_regblock: Launch<MatmulSizes> = {
  file: 'matmul_regblock.wgsl',
  overrides: { BK: 8 },
  workgroups: ({ M, N }) => [cdiv(N, 64), cdiv(M, 64)],
};

// 128 x 128 outputs per workgroup of 256 threads: 8 x 8 per thread.
export const matmul_vec4: Launch<MatmulSizes> = {
  file: 'matmul_vec4.wgsl',
  overrides: { BK: 8 },
  workgroups: ({ M, N }) => [cdiv(N, 128), cdiv(M, 128)],
};

// The kernel timed for speed credit: point it at your fastest stage.
export const matmul = matmul_vec4;

export const softmax: Launch<RowsSizes> = {
  file: 'softmax.wgsl',
  overrides: { WG: 256 },
  workgroups: ({ rows }) => [rows], // one workgroup per row (rows <= 65535 in every case)
};

export const layernorm: Launch<LayernormSizes> = {
  file: 'layernorm.wgsl',
  overrides: { WG: 256 },
  workgroups: ({ rows }) => [rows],
};

// Two passes sharing the bindings; scratch holds the partial sums (here up to 64 per row).
export const reduce_sum: MultiPassKernel<RowsSizes> = {
  passes: [
    { file: 'reduce_sum.wgsl', entryPoint: 'partial', workgroups: ({ rows, cols }) => [Math.min(64, cdiv(cols, 256)), rows] },
    { file: 'reduce_sum.wgsl', entryPoint: 'finish', workgroups: ({ rows }) => [rows] },
  ],
  scratch: ({ rows }) => rows * 64,
};

export const transpose: Launch<RowsSizes> = {
  file: 'transpose.wgsl',
  workgroups: ({ rows, cols }) => [cdiv(cols, 32), cdiv(rows, 32)],
};

export const attention_fwd: Launch<AttentionSizes> = {
  file: 'attention_fwd.wgsl',
  overrides: { BQ: 32 },
  workgroups: ({ B, H, Sq }) => [cdiv(Sq, 32), B * H],
};
