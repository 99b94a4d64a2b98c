// recvReduce's WebAssembly additions (harness/child/ranks/reduce.ts): the committed module is
// reduce.wat compiled; its sums equal a JavaScript loop's bit for bit for every dtype, length,
// offset and piece; and a group's arenas are WebAssembly memories where the address space allows
// (node --disable-wasm-trap-handler, under a limit like the sandbox's), plain shared memory elsewhere.
import { execa } from 'execa';
import { transformSync } from 'esbuild';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../../helpers/run.ts';
import { WasmReducer } from '../../../../harness/child/ranks/reduce.ts';
// @ts-expect-error: a plain .mjs script without types
import { compileReduceWat, moduleSource } from '../../../../scripts/build-wasm.mjs';

type Arr = Float32Array | Float64Array | Int32Array;
const CTORS = { float32: Float32Array, float64: Float64Array, int32: Int32Array } as const;
const SCRATCH = 1024;

/** A deterministic mix of magnitudes, signs, zeros, infinities and NaN (floats) or values that wrap (int32). */
function values(dtype: keyof typeof CTORS, n: number, seed: number): number[] {
  let x = seed >>> 0;
  const next = () => ((x = (Math.imul(x, 1664525) + 1013904223) >>> 0), x);
  return Array.from({ length: n }, (_, i) => {
    const u = next();
    if (dtype === 'int32') return u | 0;
    const special = [0, -0, Infinity, -Infinity, NaN, 1e-45, 3.4e38];
    if (i % 97 === 5) return special[u % special.length]!;
    return (u / 2 ** 32 - 0.5) * 10 ** ((u % 13) - 6);
  });
}

describe('the reduction module', () => {
  it('is reduce.wat compiled (npm run build:wasm)', async () => {
    const committed = readFileSync(path.join(ROOT, 'harness/child/ranks/reduce-wasm.ts'), 'utf8');
    expect(committed).toBe(moduleSource(await compileReduceWat()));
  });

  it('adds as a JavaScript loop does, bit for bit: every dtype, odd lengths and offsets, pieces larger than the scratch', () => {
    const memory = new WebAssembly.Memory({ initial: 4, maximum: 4, shared: true });
    const reducer = new WasmReducer(memory, 3 * 65536, SCRATCH);
    const other = new SharedArrayBuffer(65536) as unknown as ArrayBuffer; // typed as the views take it
    for (const dtype of ['float32', 'float64', 'int32'] as const) {
      const C = CTORS[dtype];
      const size = C.BYTES_PER_ELEMENT;
      for (const n of [0, 1, 3, 15, 16, 17, 63, 64, 65, 1000, 2 * (SCRATCH / size) + 7]) {
        for (const [outAt, srcAt, a] of [[0, 0, 0], [1, 3, 0], [5, 2, 2]]) {
          // out: a view in the memory at an odd element offset; the source: another buffer.
          const out: Arr = new C(memory.buffer, 64 + outAt * size, n + a);
          const src = new C(other, srcAt * size, n);
          const o0 = values(dtype, n + a, n * 7 + outAt);
          const s0 = values(dtype, n, n * 13 + srcAt);
          out.set(o0);
          src.set(s0);
          const want = new C(o0);
          for (let i = 0; i < n; i++) want[a + i] = dtype === 'int32' ? (want[a + i]! + src[i]!) | 0 : want[a + i]! + src[i]!;
          reducer.add(out, a * size, new Uint8Array(other), srcAt * size, n * size);
          for (let i = 0; i < n + a; i++)
            if (!Object.is(out[i], want[i])) expect(`${dtype} n=${n} at ${outAt}/${srcAt}+${a}: [${i}] = ${out[i]}`).toBe(`${want[i]}`);
        }
      }
    }
  });

  it('needs an aligned scratch of whole 64-byte steps', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    expect(() => new WasmReducer(memory, 8, 1024)).toThrow(/16-byte aligned/);
    expect(() => new WasmReducer(memory, 0, 100)).toThrow(/multiple of 64/);
  });
});

describe("a group's arenas", () => {
  // Eight ranks' arenas in a process under an address-space limit like the sandbox's (24 GiB
  // here). layout.ts is compiled on its own (it imports nothing): no module hooks in that process,
  // whose own WebAssembly would take address space too.
  const inChild = async (flags: string[]) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mlsys-arenas-'));
    try {
      const layout = transformSync(readFileSync(path.join(ROOT, 'harness/child/ranks/layout.ts'), 'utf8'), { loader: 'ts', format: 'esm' }).code;
      writeFileSync(path.join(dir, 'layout.mjs'), layout);
      const script = `import { createGroup } from './layout.mjs';
        const g = createGroup(8, 1 << 16, 1 << 20);
        console.log(JSON.stringify({ wasm: g.arenaMemories !== null, arenas: g.arenas.length, bytes: g.arenas[0].byteLength }));`;
      writeFileSync(path.join(dir, 'main.mjs'), script);
      const r = await execa('bash', ['-c', `ulimit -v ${24 * 1024 * 1024} && exec "$@"`, 'bash', process.execPath, ...flags, 'main.mjs'], { cwd: dir });
      return JSON.parse(r.stdout) as { wasm: boolean; arenas: number; bytes: number };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('are WebAssembly memories with the trap handler off (what p1 asks for), plain shared memory otherwise', async () => {
    expect(await inChild(['--disable-wasm-trap-handler'])).toEqual({ wasm: true, arenas: 8, bytes: (1 << 20) + 65536 });
    // With trap-handler bounds checks each memory would reserve ~10 GiB: eight would not fit,
    // and a few would starve what comes after them. Never tried then.
    expect(await inChild([])).toEqual({ wasm: false, arenas: 8, bytes: 1 << 20 });
  });
});
