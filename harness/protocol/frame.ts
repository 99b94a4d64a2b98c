// Encoding of one message on the wire (see PROTOCOL.md):
//   u32 little-endian header length | header (UTF-8 JSON) | payload (tensor bytes)
// The header is {"msg": <JSON value with tensors replaced by {"$tensor": i}>, "tensors": [...],
// "payload": <bytes>}; tensor i is described by {dtype, shape, offset, length} into the payload.
import { DTYPE_ARRAY, isTensor, numel, type DType, type Tensor, type Value } from './values.ts';

interface TensorDesc {
  dtype: DType;
  shape: number[];
  offset: number;
  length: number;
}

const ALIGN = 8;

export function encodeFrame(msg: Value): Buffer {
  const descs: TensorDesc[] = [];
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const walk = (v: Value): unknown => {
    if (isTensor(v)) {
      const bytes = new Uint8Array(v.data.buffer, v.data.byteOffset, v.data.byteLength);
      descs.push({ dtype: v.dtype, shape: v.shape, offset, length: bytes.byteLength });
      chunks.push(bytes);
      const padded = Math.ceil(bytes.byteLength / ALIGN) * ALIGN;
      if (padded > bytes.byteLength) chunks.push(new Uint8Array(padded - bytes.byteLength));
      offset += padded;
      return { $tensor: descs.length - 1 };
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) o[k] = walk(x);
      return o;
    }
    if (typeof v === 'number' && !Number.isFinite(v)) return { $number: String(v) };
    return v;
  };
  const body = walk(msg);
  const header = Buffer.from(JSON.stringify({ msg: body, tensors: descs, payload: offset }), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(header.byteLength, 0);
  return Buffer.concat([len, header, ...chunks]);
}

export class FrameError extends Error {}

/** Decodes a header and its payload into a Value; tensors become fresh, aligned typed arrays. */
export function decodeFrame(header: Buffer, payload: Buffer, limits: { maxTensorBytes: number }): Value {
  let parsed: { msg: unknown; tensors: TensorDesc[]; payload: number };
  try {
    parsed = JSON.parse(header.toString('utf8'));
  } catch {
    throw new FrameError('malformed message header (not JSON)');
  }
  if (typeof parsed !== 'object' || parsed === null || !Array.isArray(parsed.tensors) || !('msg' in parsed))
    throw new FrameError('malformed message header (needs msg and tensors)');
  const tensors = parsed.tensors.map((d, i) => {
    if (typeof d !== 'object' || d === null) throw new FrameError(`tensor ${i}: bad descriptor`);
    const Ctor = DTYPE_ARRAY[d.dtype];
    if (!Ctor) throw new FrameError(`tensor ${i}: unknown dtype ${String(d.dtype)}`);
    if (!Array.isArray(d.shape) || !d.shape.every((x) => Number.isInteger(x) && x >= 0))
      throw new FrameError(`tensor ${i}: bad shape`);
    const n = numel(d.shape);
    if (n * Ctor.BYTES_PER_ELEMENT !== d.length) throw new FrameError(`tensor ${i}: byte length does not match shape`);
    if (d.length > limits.maxTensorBytes) throw new FrameError(`tensor ${i}: ${d.length} bytes is over the limit`);
    if (d.offset < 0 || d.offset + d.length > payload.byteLength) throw new FrameError(`tensor ${i}: out of payload`);
    const copy = new Uint8Array(d.length);
    copy.set(payload.subarray(d.offset, d.offset + d.length));
    const t: Tensor = { dtype: d.dtype, shape: d.shape.slice(), data: new Ctor(copy.buffer) } as Tensor;
    return t;
  });
  const walk = (v: unknown): Value => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.$tensor === 'number' && Object.keys(o).length === 1) {
        const t = tensors[o.$tensor];
        if (!t) throw new FrameError('reference to a missing tensor');
        return t;
      }
      if (typeof o.$number === 'string' && Object.keys(o).length === 1) return Number(o.$number);
      const out: Record<string, Value> = {};
      for (const [k, x] of Object.entries(o)) out[k] = walk(x);
      return out;
    }
    return v as Value;
  };
  return walk(parsed.msg);
}

/** Reads frames from a byte stream (a pipe). Yields each decoded message in order. */
export class FrameReader {
  // Chunks are kept as they arrive and joined only once a whole piece (a header or a payload)
  // is there: joining on every chunk would make a large message cost time quadratic in its size.
  private chunks: Buffer[] = [];
  private len = 0;
  private want: { header: Buffer; payload: number } | null = null;
  private hlen: number | null = null;

  constructor(private readonly limits: { maxFrameBytes: number; maxTensorBytes: number }) {}

  /** Takes the first n buffered bytes (the caller checked that they are there). */
  private take(n: number): Buffer {
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.len);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.chunks = rest.length ? [rest] : [];
    this.len = rest.length;
    return head;
  }

  /** Feeds bytes; returns the messages now complete. Throws FrameError on a malformed stream. */
  push(chunk: Buffer): Value[] {
    if (chunk.length) {
      this.chunks.push(chunk);
      this.len += chunk.length;
    }
    const out: Value[] = [];
    for (;;) {
      if (!this.want) {
        if (this.hlen === null) {
          if (this.len < 4) break;
          this.hlen = this.take(4).readUInt32LE(0);
          if (this.hlen > this.limits.maxFrameBytes) throw new FrameError(`message header of ${this.hlen} bytes is over the limit`);
        }
        if (this.len < this.hlen) break;
        const header = Buffer.from(this.take(this.hlen));
        this.hlen = null;
        let payload = 0;
        try {
          payload = Number(JSON.parse(header.toString('utf8')).payload) || 0;
        } catch {
          throw new FrameError('malformed message header (not JSON)');
        }
        if (!Number.isInteger(payload) || payload < 0) throw new FrameError('malformed message header (bad payload length)');
        if (payload > this.limits.maxFrameBytes) throw new FrameError(`message of ${payload} bytes is over the limit`);
        this.want = { header, payload };
      }
      if (this.len < this.want.payload) break;
      const payload = this.take(this.want.payload);
      out.push(decodeFrame(this.want.header, payload, this.limits));
      this.want = null;
    }
    return out;
  }
}
