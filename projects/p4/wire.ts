// How Project 4's large inputs cross to the submission's process: a data set's vectors are sent
// once per process (`shared`), in pieces of at most 4 MiB, each its own message. (One message of a
// few hundred MB is slow to receive: the reader joins its buffer with every chunk the pipe
// delivers.) Both sides read a value back with `whole`.
import { isTensor, shared, tensor, type DType, type Tensor, type TypedArrayOf, type Value } from '../../harness/protocol/values.ts';

export const PIECE_BYTES = 4 << 20;

/** `t` as one shared value, or as shared pieces of whole rows when it is large. */
export function sharedPieces(key: string, t: Tensor): Value {
  const bytes = t.data.byteLength;
  if (bytes <= PIECE_BYTES) return shared(key, t);
  const rowLen = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const rowBytes = rowLen * t.data.BYTES_PER_ELEMENT;
  const rows = Math.max(1, Math.floor(PIECE_BYTES / rowBytes));
  const pieces: Value[] = [];
  for (let r = 0, i = 0; r < t.shape[0]!; r += rows, i++) {
    const end = Math.min(t.shape[0]!, r + rows);
    pieces.push(shared(`${key}#${i}`, tensor(t.dtype, [end - r, ...t.shape.slice(1)], t.data.subarray(r * rowLen, end * rowLen) as TypedArrayOf<DType>)));
  }
  return { $pieces: pieces, dtype: t.dtype, shape: t.shape };
}

const unwrap = (v: unknown): unknown => {
  const o = v as { $shared?: unknown; value?: unknown } | null;
  return o && typeof o === 'object' && '$shared' in o ? o.value : v;
};

/**
 * The whole tensor behind a value made by sharedPieces (or a plain or shared tensor). Pieces that
 * are consecutive views of one buffer (the trusted side's own arrays) are joined without copying.
 */
export function whole(v: unknown): Tensor {
  const x = unwrap(v);
  if (isTensor(x)) return x;
  const o = x as { $pieces?: unknown[]; dtype?: DType; shape?: number[] };
  if (!o || !Array.isArray(o.$pieces) || !o.dtype || !o.shape) throw new Error('internal: not a tensor or tensor pieces');
  const parts = o.$pieces.map((p) => unwrap(p) as Tensor);
  const first = parts[0]!.data;
  const n = parts.reduce((a, p) => a + p.data.length, 0);
  let contiguous = true;
  let at = first.byteOffset;
  for (const p of parts) {
    if (p.data.buffer !== first.buffer || p.data.byteOffset !== at) contiguous = false;
    at += p.data.byteLength;
  }
  const C = first.constructor as new (b: ArrayBufferLike | number, o?: number, l?: number) => TypedArrayOf<DType>;
  let data: TypedArrayOf<DType>;
  if (contiguous) data = new C(first.buffer, first.byteOffset, n);
  else {
    data = new C(n);
    let off = 0;
    for (const p of parts) {
      (data as Float32Array).set(p.data as Float32Array, off);
      off += p.data.length;
    }
  }
  return { dtype: o.dtype, shape: [...o.shape], data } as Tensor;
}
