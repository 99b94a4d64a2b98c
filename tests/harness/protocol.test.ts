import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameError, FrameReader } from '../../harness/protocol/frame.ts';
import { tensor, type Value } from '../../harness/protocol/values.ts';

const limits = { maxFrameBytes: 1 << 24, maxTensorBytes: 1 << 24 };

describe('wire frames', () => {
  it('round-trips JSON values and tensors of every dtype, byte for byte', () => {
    const msg: Value = {
      type: 'call',
      n: 3,
      nested: [1, 'two', null, { deep: tensor('int32', [2, 2], [1, -2, 3, 2147483647]) }],
      f32: tensor('float32', [3], [0.5, -1.25, 3e-8]),
      f64: tensor('float64', [1], [Math.PI]),
      u8: tensor('uint8', [5], [0, 1, 2, 254, 255]), // 5 bytes: the next tensor must stay aligned
      after: tensor('float32', [2], [7, 8]),
      special: [NaN, Infinity, -Infinity],
    };
    const [back] = new FrameReader(limits).push(encodeFrame(msg));
    expect(back).toEqual(msg);
    const b = back as Record<string, any>;
    expect(b.f64.data).toBeInstanceOf(Float64Array);
    expect(b.after.data.byteOffset % 4).toBe(0);
    expect(Number.isNaN(b.special[0])).toBe(true);
  });

  it('reassembles frames split at any byte and several frames in one chunk', () => {
    const a = encodeFrame({ i: 1, t: tensor('float32', [4], [1, 2, 3, 4]) });
    const b = encodeFrame({ i: 2 });
    const all = Buffer.concat([a, b]);
    for (let cut = 1; cut < all.length; cut += 3) {
      const r = new FrameReader(limits);
      const got = [...r.push(all.subarray(0, cut)), ...r.push(all.subarray(cut))];
      expect(got.map((m) => (m as { i: number }).i)).toEqual([1, 2]);
    }
  });

  it('rejects malformed streams with a FrameError instead of crashing', () => {
    const bad = Buffer.alloc(8);
    bad.writeUInt32LE(4, 0);
    bad.write('{{{{', 4);
    expect(() => new FrameReader(limits).push(bad)).toThrow(FrameError);
    const huge = Buffer.alloc(4);
    huge.writeUInt32LE(0xffffffff, 0);
    expect(() => new FrameReader(limits).push(huge)).toThrow(/over the limit/);
    // A tensor whose byte length does not match its shape.
    const header = Buffer.from(JSON.stringify({ msg: { $tensor: 0 }, tensors: [{ dtype: 'float32', shape: [3], offset: 0, length: 8 }], payload: 8 }));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(header.length, 0);
    expect(() => new FrameReader(limits).push(Buffer.concat([len, header, Buffer.alloc(8)]))).toThrow(/does not match/);
  });
});

describe('large messages', () => {
  it('arrive in linear time when split into many small chunks', () => {
    const big = encodeFrame({ t: tensor('float32', [8 << 20], new Float32Array(8 << 20).fill(1.5)) }); // 32 MiB
    const r = new FrameReader({ maxFrameBytes: 1 << 30, maxTensorBytes: 1 << 30 });
    const got: unknown[] = [];
    const t0 = performance.now();
    for (let i = 0; i < big.length; i += 65536) got.push(...r.push(big.subarray(i, i + 65536)));
    // Joining the buffer on every 64 KiB chunk would copy ~8 GiB here; this copies it about once.
    expect(performance.now() - t0).toBeLessThan(20_000);
    expect(got).toHaveLength(1);
    expect((got[0] as { t: { data: Float32Array } }).t.data[123456]).toBe(1.5);
  });
});
