// How fast recvReduce adds, in one process, through the transport's own code
// (RankCore's addition step, harness/child/ranks/comm.ts): with the arenas as WebAssembly
// memories (SIMD, reduce.ts) and as plain shared memory (a JavaScript loop), against a plain copy
// of the same bytes between the two ranks' arenas (the memory's speed). Rank 0 adds a message
// that lies in rank 1's arena (as a ring all-reduce's large messages do) into its own buffer,
// over buffers larger than the caches. Prints each one's median time and its ratio to the copy's.
//
//   node --disable-wasm-trap-handler --import tsx scripts/bench-reduce.ts [--mib 32] [--reps 9]
//   (npm run bench:reduce)
import { parseArgs } from 'node:util';
import { RankCore } from '../harness/child/ranks/comm.ts';
import { createGroup } from '../harness/child/ranks/layout.ts';
import { quantile } from '../harness/measure/stats.ts';

const { values } = parseArgs({ options: { mib: { type: 'string', default: '32' }, reps: { type: 'string', default: '9' } } });
const bytes = Math.round((Number(values.mib) * 2 ** 20) / 64) * 64;
const reps = Math.max(3, Number(values.reps));
if (!(bytes > 0)) throw new Error(`--mib: expected a positive size, got ${values.mib}`);
const n = bytes / 4;

const g = createGroup(2, 1 << 16, bytes + (1 << 20));
if (!g.arenaMemories) throw new Error('the arenas are not WebAssembly memories: run node with --disable-wasm-trap-handler (npm run bench:reduce)');
const now = () => performance.now();
const simd = new RankCore(g, 0, now);
// The same arenas, seen by a rank whose group has no WebAssembly memories: JavaScript additions.
const js = new RankCore({ ...g, arenaMemories: null }, 0, now);
const sender = new RankCore(g, 1, now);
const msg = sender.alloc(n, 'float32', '', false) as Float32Array;
for (let i = 0; i < n; i++) msg[i] = (i % 1000) / 8; // written: pages in memory, not the zero page
const out = simd.alloc(n, 'float32', '', false) as Float32Array;
out.fill(1);
type AddFrom = (out: Float32Array, a: number, who: number, at: number, m: number) => void;
const addFrom = (core: RankCore): AddFrom => (core as unknown as { addFrom: AddFrom }).addFrom.bind(core);
const outU8 = new Uint8Array(out.buffer, out.byteOffset, bytes);
const msgU8 = new Uint8Array(msg.buffer, msg.byteOffset, bytes);

const ways: [string, () => void][] = [
  ['copy (Uint8Array.set)', () => outU8.set(msgU8)],
  ['JavaScript loop (plain shared arenas)', () => addFrom(js)(out, 0, 1, msg.byteOffset, bytes)],
  ['WebAssembly SIMD (WebAssembly arenas)', () => addFrom(simd)(out, 0, 1, msg.byteOffset, bytes)],
];
const ms: Record<string, number[]> = {};
for (let r = 0; r < reps + 1; r++)
  for (const [name, f] of ways) {
    const t0 = performance.now();
    f();
    const t = performance.now() - t0;
    if (r > 0) (ms[name] ??= []).push(t); // the first round warms up (JIT, page faults)
  }
const med = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);
const copy = med(ms[ways[0]![0]]!);
console.log(`float32, ${(bytes / 2 ** 20).toFixed(1)} MiB, median of ${reps} (interleaved); node ${process.version}`);
for (const [name] of ways) {
  const m = med(ms[name]!);
  console.log(`${name.padEnd(40)} ${m.toFixed(2).padStart(8)} ms  ${(bytes / (m * 1e6)).toFixed(2).padStart(6)} GB/s  ${(m / copy).toFixed(2)}x the copy's time`);
}
