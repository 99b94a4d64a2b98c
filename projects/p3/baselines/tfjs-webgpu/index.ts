// The `tfjs-webgpu` baseline that `mlsys bench p3` times next to your kernels and the reference:
// tfjs-backend-webgpu's own ops (matMul, softmax, moments, sum, transpose, and attention as the
// unfused composition matMul → mask → softmax → matMul) on the same device, timed with
// timestamp queries. A library implementation answers timed cases only: a submission that
// exports one fails every graded case.
const lib = { library: 'tfjs-webgpu' } as const;

export const matmul_naive = lib;
export const matmul_coalesced = lib;
export const matmul_tiled = lib;
export const matmul_regblock = lib;
export const matmul_vec4 = lib;
export const matmul = lib;
export const softmax = lib;
export const layernorm = lib;
export const reduce_sum = lib;
export const transpose = lib;
export const attention_fwd = lib;
