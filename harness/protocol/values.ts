// The values that cross the process boundary: JSON-like data plus tensors (dtype, shape, raw
// little-endian bytes). Anything else (functions, class instances, getters) cannot cross, so the
// trusted side only ever sees plain data it decoded itself.

export type DType = 'float32' | 'float64' | 'int32' | 'uint8';

export type TypedArrayOf<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int32'
      ? Int32Array
      : Uint8Array;

export interface Tensor<D extends DType = DType> {
  dtype: D;
  shape: number[];
  data: TypedArrayOf<D>;
}

export type Value = null | boolean | number | string | Tensor | Value[] | { [key: string]: Value };
export type Record_ = { [key: string]: Value };

export const DTYPE_ARRAY = {
  float32: Float32Array,
  float64: Float64Array,
  int32: Int32Array,
  uint8: Uint8Array,
} as const;

export function isTensor(v: unknown): v is Tensor {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    typeof (v as Tensor).dtype === 'string' &&
    Array.isArray((v as Tensor).shape) &&
    ArrayBuffer.isView((v as Tensor).data)
  );
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function tensor<D extends DType>(dtype: D, shape: number[], data?: TypedArrayOf<D> | ArrayLike<number>): Tensor<D> {
  const Ctor = DTYPE_ARRAY[dtype];
  const n = numel(shape);
  const arr = (data === undefined ? new Ctor(n) : data instanceof Ctor ? data : Ctor.from(data as ArrayLike<number>)) as TypedArrayOf<D>;
  if (arr.length !== n) throw new Error(`tensor: ${arr.length} values for shape [${shape.join(', ')}] (needs ${n})`);
  return { dtype, shape: [...shape], data: arr };
}

/**
 * Marks a large input (a data set, model weights) that stays the same across calls: it crosses
 * to a process once (a `put` message) and later calls refer to it by key. Keys must be unique
 * to the value (e.g. include the seed).
 */
export function shared(key: string, value: Value): Value {
  return { $shared: key, value };
}

export function shapeStr(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}
