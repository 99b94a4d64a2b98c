// Types of knn-kernel.mjs (plain JavaScript so that worker threads load it as is).
export type KernelMetric = 'l2' | 'cosine' | 'ip';
type F32or64 = Float32Array | Float64Array;
export function rowNorms(base: F32or64, n: number, d: number): Float64Array;
export function rowNorm2(a: F32or64, o: number, d: number): number;
export function distance(metric: KernelMetric, queries: F32or64, q: number, base: F32or64, i: number, d: number, baseNorms?: Float64Array | null): number;
