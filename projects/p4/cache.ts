// Project 4's disk cache (trusted side only): ground truth and converted data sets, each file with
// a header that records what it was computed from and the SHA-256 of its payload. A file whose
// checksum or inputs do not match is ignored and recomputed. The folder is .cache/p4 at the
// repository's top (ignored by git), or MLSYS_P4_CACHE. A cache that cannot be written is not an error:
// the value is simply recomputed next time.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const MAGIC = 'MLSYSP4\u0001';

export function cacheDir(): string {
  // Outside projects/: that folder is visible (read-only) inside the sandbox, and ground truth
  // must never be readable by a submission.
  return process.env.MLSYS_P4_CACHE || path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '.cache', 'p4');
}

export function sha256(...parts: (ArrayBufferView | string)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(typeof p === 'string' ? p : new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex');
}

export interface CacheHeader {
  [key: string]: string | number;
}

/** The payload of `file` if its header has `inputs` and its checksum matches; otherwise null. */
export function readCached(file: string, inputs: string): { header: CacheHeader; payload: Buffer } | null {
  const f = path.join(cacheDir(), file);
  if (!existsSync(f)) return null;
  try {
    const buf = readFileSync(f);
    if (buf.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) return null;
    const hlen = buf.readUInt32LE(MAGIC.length);
    const header = JSON.parse(buf.subarray(MAGIC.length + 4, MAGIC.length + 4 + hlen).toString('utf8')) as CacheHeader;
    const payload = buf.subarray(MAGIC.length + 4 + hlen);
    if (header.inputs !== inputs || header.payload_sha256 !== sha256(payload)) return null;
    return { header, payload };
  } catch {
    return null;
  }
}

/** Writes `file` atomically (temporary file, then rename); false if the folder is not writable. */
export function writeCached(file: string, inputs: string, header: CacheHeader, parts: ArrayBufferView[]): boolean {
  try {
    const dir = cacheDir();
    mkdirSync(dir, { recursive: true });
    const ignore = path.join(dir, '.gitignore');
    if (!existsSync(ignore)) writeFileSync(ignore, '# computed data (ground truth, converted data sets): never committed\n*\n');
    const payload = Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
    const h = Buffer.from(JSON.stringify({ ...header, inputs, payload_sha256: sha256(payload) }), 'utf8');
    const len = Buffer.alloc(4);
    len.writeUInt32LE(h.length);
    const tmp = path.join(dir, `.${file}.${process.pid}.tmp`);
    writeFileSync(tmp, Buffer.concat([Buffer.from(MAGIC, 'latin1'), len, h, payload]));
    renameSync(tmp, path.join(dir, file));
    return true;
  } catch {
    return false;
  }
}

/** A copy of `bytes` bytes at `offset` of a payload, as a typed array (aligned). */
export function slice<T extends Int32Array | Float64Array | Float32Array | Uint8Array>(
  Ctor: { new (buf: ArrayBuffer): T; BYTES_PER_ELEMENT: number },
  payload: Buffer,
  offset: number,
  count: number,
): T {
  const bytes = count * Ctor.BYTES_PER_ELEMENT;
  const ab = new ArrayBuffer(bytes);
  new Uint8Array(ab).set(payload.subarray(offset, offset + bytes));
  return new Ctor(ab);
}
