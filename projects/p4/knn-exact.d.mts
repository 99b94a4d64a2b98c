// Types of knn-exact.mjs (plain JavaScript so that worker threads load it as is).
import type { KernelMetric } from './knn-kernel.mjs';
type F32or64 = Float32Array | Float64Array;
export function knn(
  base: F32or64,
  n: number,
  d: number,
  queries: F32or64,
  q0: number,
  q1: number,
  k: number,
  metric: KernelMetric,
  outIds: Int32Array,
  outDists: Float64Array,
  eligible?: Uint8Array | null,
  baseNorms?: Float64Array | null,
): void;
