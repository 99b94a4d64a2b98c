// Project 1's transport figures on this machine: the reference all-reduce's time, algbw and
// busbw on N ranks at large messages, against the memory-copy bandwidth between the same N
// threads (`copyBandwidth`), in one process. For the target in projects/p1/RESULTS.md: the
// reference all-reduce's busbw at least half of the copy bandwidth at large messages.
//
// The all-reduce runs as the harness runs a timed p1 allReduce case (projects/p1/child.ts):
// a pool of ranks from harness/child/ranks/runtime.ts (getPool, the same arena size), the
// project's rank task 'collective' (projects/p1/ranks.ts) with the reference
// (reference/p1/index.ts) as the submission, a full GC before each prepare, and the call's time
// taken as the harness takes it: from the first rank's start to the last rank's end of the
// submission's call (span_ms), median over the timed calls after warm-up ones. Every call's
// output is checked as the harness checks it: the sampled elements and the float64 sum of each
// rank's whole buffer against the oracle (projects/p1/oracle.ts), exactly.
//
// Two ways to run it:
//   projects/p1/scripts/transport-check.sh run      # the kit built by `transport-check.sh prepare`:
//                                                   # plain .mjs, needs only a `node` binary
//   node --expose-gc --disable-wasm-trap-handler --import tsx projects/p1/scripts/transport-measure.ts [--quick]
//                                                   # from the repository (the flags p1's processes get)
// Options: --out DIR (writes DIR/p1-transport.md and .json), --ranks 2,4,8, --mib 1,16,64,
// --budget-s 45 (the whole run's target duration: timed calls stop early past each case's share),
// --quick (N 2 and 4, 1 and 4 MiB, few calls: a check of the kit, not a measurement).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseCliArgs } from 'node:util';
import { nowMs } from '../../../harness/child/clock.ts';
import { closePools, copyBandwidth, getPool, type RankPool } from '../../../harness/child/ranks/runtime.ts';
import { quantile } from '../../../harness/measure/stats.ts';
import { arenaFor } from '../child.ts';
import { sampleIndices } from '../model.ts';
import * as oracle from '../oracle.ts';
import { busFactor } from '../project.ts';
import type { CollInput } from '../ranks.ts';

const MiB = 1 << 20;
const here = path.dirname(fileURLToPath(import.meta.url));

interface Options {
  out: string | null;
  ranks: number[];
  mib: number[];
  budgetS: number;
  quick: boolean;
}

function parseArgs(argv: string[]): Options {
  const { values: v } = parseCliArgs({
    args: argv,
    strict: true,
    options: { out: { type: 'string' }, ranks: { type: 'string' }, mib: { type: 'string' }, 'budget-s': { type: 'string' }, quick: { type: 'boolean' } },
  });
  const list = (s: string, what: string) => {
    const xs = s.split(',').map(Number);
    if (!xs.length || xs.some((x) => !(x > 0))) throw new Error(`--${what}: expected a comma-separated list of positive numbers, got '${s}'`);
    return xs;
  };
  // --quick: a check of the kit, not a measurement (explicit options still win).
  const o: Options = v.quick
    ? { out: null, ranks: [2, 4], mib: [1, 4], budgetS: 20, quick: true }
    : { out: null, ranks: [2, 4, 8], mib: [1, 16, 64], budgetS: 45, quick: false };
  if (v.out !== undefined) o.out = v.out;
  if (v.ranks !== undefined) o.ranks = list(v.ranks, 'ranks').map(Math.round);
  if (v.mib !== undefined) o.mib = list(v.mib, 'mib');
  if (v['budget-s'] !== undefined) o.budgetS = Number(v['budget-s']);
  if (!(o.budgetS > 0)) throw new Error('--budget-s: expected a positive number of seconds');
  return o;
}

/**
 * The modules each rank loads. In the kit (transport-check.sh prepare) they are plain .mjs next to
 * this bundle, and the runtime's rank thread (its `./worker.mjs`, resolved next to the runtime's
 * module, i.e. this bundle) is the bundled worker.ts: no module hooks anywhere. From the
 * repository, the .ts sources, loaded through the runtime's own hooks.
 */
function rankModules(): { tasks: string; entry: string; kit: boolean } {
  const kit = { tasks: path.join(here, 'ranks.mjs'), entry: path.join(here, 'reference.mjs') };
  if (existsSync(kit.tasks) && existsSync(kit.entry) && existsSync(path.join(here, 'worker.mjs'))) return { ...kit, kit: true };
  return { tasks: path.resolve(here, '../ranks.ts'), entry: path.resolve(here, '../../../reference/p1/index.ts'), kit: false };
}

const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);
const gc = () => (globalThis as { gc?: () => void }).gc?.();
const log = (s: string) => process.stderr.write(`${s}\n`);

interface Row {
  N: number;
  bytes: number;
  /** Timed calls (after `warmup` untimed ones) and their span_ms. */
  warmup: number;
  calls: number;
  ms: number;
  msAll: number[];
  algbwGbps: number;
  busbwGbps: number;
  /** copyBandwidth(pool, bytes, copyReps): median GB/s over `copyCalls` calls (after one untimed). */
  copyGbps: number;
  copyMs: number;
  copyReps: number;
  copyCalls: number;
  busbwOverCopy: number;
  /** Every call's output (warm-up ones included) equal to the oracle's on every rank. */
  correct: boolean;
  /** How recvReduce added: WebAssembly SIMD over arenas that are WebAssembly memories, or JavaScript loops. */
  reduction: 'wasm-simd' | 'javascript' | '';
  checked: string;
  error?: string;
}

/** What every rank's buffer must hold after the all-reduce: sampled elements, and the float64 sum of all. */
function expectation(N: number, L: number, seed: number): { idx: Int32Array; values: Float64Array; sum: number } {
  const cc: oracle.CollCase = { op: 'allReduce', N, L, seed, root: 0 };
  const idx = sampleIndices(L, seed);
  const f = oracle.collectiveExpected(cc, 0);
  const values = Float64Array.from(idx, (i) => f(i));
  return { idx, values, sum: oracle.collectiveSums(cc)[0]! };
}

type RankOut = { values: Float32Array; sum: number; t0: number; t1: number };

/** One call as projects/p1/child.ts makes it (prepare: not timed; run: timed as span_ms). */
async function oneCall(pool: RankPool, inp: CollInput, exp: ReturnType<typeof expectation>): Promise<{ ms: number; wrong: string | null }> {
  gc();
  const job = await pool.prepare('collective', Array.from({ length: pool.size }, () => inp));
  const r = await job.run<RankOut>();
  const o = r.outputs;
  const ms = Math.max(...o.map((x) => x.t1)) - Math.min(...o.map((x) => x.t0));
  let wrong: string | null = null;
  for (let rank = 0; rank < o.length && !wrong; rank++) {
    const got = o[rank]!;
    for (let k = 0; k < exp.idx.length; k++)
      if (got.values[k] !== exp.values[k]) {
        wrong = `rank ${rank}: buf[${exp.idx[k]}] is ${got.values[k]}, expected ${exp.values[k]}`;
        break;
      }
    if (!wrong && got.sum !== exp.sum) wrong = `rank ${rank}: the sum of buf is ${got.sum}, expected ${exp.sum}`;
  }
  return { ms, wrong };
}

async function measure(N: number, bytes: number, modules: { tasks: string; entry: string }, shareMs: number, quick: boolean): Promise<Row> {
  const L = bytes / 4;
  if (!Number.isInteger(L)) throw new Error(`${bytes} bytes are not a whole number of float32`);
  const seed = (0x5eed + 7919 * N + L) % 2 ** 31;
  const row: Row = {
    N,
    bytes,
    warmup: bytes >= 64 * MiB ? 1 : 2,
    calls: 0,
    ms: NaN,
    msAll: [],
    algbwGbps: NaN,
    busbwGbps: NaN,
    copyGbps: NaN,
    copyMs: NaN,
    copyReps: Math.max(3, Math.ceil((64 * MiB) / bytes)),
    copyCalls: quick ? 2 : 5,
    busbwOverCopy: NaN,
    correct: false,
    checked: '',
    reduction: '',
  };
  const exp = expectation(N, L, seed);
  const t0 = nowMs();
  // The pool child.ts opens for this case (same spec, so the same arena size).
  const pool = await getPool({ size: N, entry: modules.entry, tasks: modules.tasks, arenaBytes: arenaFor(bytes) });
  row.reduction = pool.group.arenaMemories ? 'wasm-simd' : 'javascript';
  try {
    const inp: CollInput = { op: 'allReduce', seed, L, root: 0 };
    const minCalls = 3;
    const maxCalls = quick ? 3 : bytes <= MiB ? 21 : bytes <= 16 * MiB ? 11 : 7;
    let checks = 0;
    for (let i = 0; i < row.warmup + maxCalls; i++) {
      const timed = i >= row.warmup;
      if (timed && row.msAll.length >= minCalls && nowMs() - t0 > shareMs * 0.8) break;
      const c = await oneCall(pool, inp, exp);
      checks++;
      if (c.wrong) throw new Error(`wrong all-reduce result (call ${i + 1}): ${c.wrong}`);
      if (timed) row.msAll.push(c.ms);
    }
    row.correct = true;
    row.checked = `${checks} calls x ${N} ranks: ${exp.idx.length} sampled elements and the sum of all ${L} equal to the oracle's`;
    row.calls = row.msAll.length;
    row.ms = median(row.msAll);
    row.algbwGbps = bytes / (row.ms * 1e6);
    row.busbwGbps = row.algbwGbps * busFactor('allReduce', N);
    // The copy bandwidth between the same threads (the harness's copy case: copyBandwidth on the pool).
    await copyBandwidth(pool, bytes, row.copyReps);
    const copies = [];
    for (let i = 0; i < row.copyCalls; i++) copies.push(await copyBandwidth(pool, bytes, row.copyReps));
    row.copyGbps = median(copies.map((c) => c.gbps));
    row.copyMs = median(copies.map((c) => c.msPerCopy));
    row.busbwOverCopy = row.busbwGbps / row.copyGbps;
  } catch (e) {
    row.error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  } finally {
    // One case's pool at a time: memory stays bounded (N=8 at 64 MiB holds 8 arenas of 224 MiB).
    await closePools();
  }
  return row;
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '—');
const sizeLabel = (b: number) => (b >= MiB ? `${+(b / MiB).toFixed(2)} MiB` : `${b >> 10} KiB`);

function markdown(machine: Record<string, unknown>, rows: Row[], opts: Options, kit: boolean, wallS: number): string {
  const lines: string[] = [];
  lines.push('# Project 1: transport figures (reference all-reduce vs copy bandwidth between threads)', '');
  lines.push(`- date: ${machine.date}`);
  lines.push(`- os.cpus().length: ${machine.cpus}; os.cpus()[0].model: ${machine.model}`);
  lines.push(`- node ${machine.node} (${machine.platform}-${machine.arch}); total memory ${machine.totalMemGiB} GiB; load average before: ${machine.loadavgBefore}, after: ${machine.loadavgAfter}`);
  lines.push(`- ${kit ? 'kit (plain .mjs, no module hooks)' : 'repository sources (tsx hooks)'}; ${opts.quick ? 'QUICK run: a check of the kit, not a measurement; ' : ''}wall ${wallS.toFixed(1)} s`);
  lines.push('- float32 sum, in place; ms = median span of the call (first rank start to last rank end) over the timed calls;');
  lines.push('  algbw = bytes / ms; busbw = algbw × 2(N−1)/N; copy = copyBandwidth(pool of N, bytes) (median of calls), GB/s per rank');
  lines.push(`- recvReduce's additions: ${[...new Set(rows.map((r) => r.reduction))].join(', ') || '—'} (wasm-simd needs node --disable-wasm-trap-handler under an address-space limit)`, '');
  lines.push('| N | bytes | ms | algbw GB/s | busbw GB/s | copy GB/s | busbw/copy | calls | correct |');
  lines.push('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows)
    lines.push(
      `| ${r.N} | ${sizeLabel(r.bytes)} | ${Number.isFinite(r.ms) ? r.ms.toFixed(3) : '—'} | ${f2(r.algbwGbps)} | ${f2(r.busbwGbps)} | ${f2(r.copyGbps)} | ${f2(r.busbwOverCopy)} | ${r.calls} (+${r.warmup}) | ${r.error ? 'ERROR' : r.correct ? 'yes' : 'no'} |`,
    );
  lines.push('');
  const largest = Math.max(...rows.map((r) => r.bytes));
  const verdicts = [...new Set(rows.map((r) => r.N))].map((N) => {
    const r = rows.find((x) => x.N === N && x.bytes === largest);
    return r && Number.isFinite(r.busbwOverCopy) ? `N=${N}: ${f2(r.busbwOverCopy)} (${r.busbwOverCopy >= 0.5 ? 'met' : 'not met'})` : `N=${N}: no figure`;
  });
  lines.push(`Target (busbw ≥ 0.5 × copy at ${sizeLabel(largest)}): ${verdicts.join('; ')}.`);
  const bad = rows.filter((r) => r.error || !r.correct);
  lines.push(
    bad.length
      ? `Results: ${bad.length} case(s) failed: ${bad.map((r) => `N=${r.N} ${sizeLabel(r.bytes)}: ${r.error ?? 'not checked'}`).join('; ')}`
      : `Results: every call's output on every rank equal to the oracle's (sampled elements and the exact float64 sum of the whole buffer).`,
  );
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const modules = rankModules();
  const cpus = os.cpus();
  const loadavg = () => os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const machine: Record<string, unknown> = {
    date: new Date().toISOString(),
    cpus: cpus.length,
    model: cpus[0]?.model ?? 'unknown',
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    totalMemGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    loadavgBefore: loadavg(),
    exposeGc: typeof (globalThis as { gc?: unknown }).gc === 'function',
  };
  const buildFile = path.join(here, 'build.json');
  const build = modules.kit && existsSync(buildFile) ? (JSON.parse(readFileSync(buildFile, 'utf8')) as unknown) : null;
  const cases = opts.ranks.flatMap((N) => opts.mib.map((m) => ({ N, bytes: Math.round(m * MiB) })));
  const t0 = nowMs();
  const rows: Row[] = [];
  // Written after every case (a run cut short leaves what it measured), and once more at the end.
  const write = (done: boolean) => {
    const wallS = (nowMs() - t0) / 1000;
    machine.loadavgAfter = loadavg();
    const md = markdown(machine, rows, opts, modules.kit, wallS) + (done ? '' : `\nPARTIAL: ${rows.length} of ${cases.length} cases measured so far.\n`);
    if (opts.out) {
      mkdirSync(opts.out, { recursive: true });
      writeFileSync(path.join(opts.out, 'p1-transport.md'), md);
      const json = { machine, kit: modules.kit, build, options: opts, complete: done, wallS, target: 'busbw >= 0.5 x copy bandwidth at the largest message', rows };
      writeFileSync(path.join(opts.out, 'p1-transport.json'), JSON.stringify(json, null, 2) + '\n');
    }
    return md;
  };
  for (const [k, c] of cases.entries()) {
    // Each case's share of what is left of the budget, weighted by N × bytes (setup and checks scale so).
    const left = opts.budgetS * 1000 - (nowMs() - t0);
    const rest = cases.slice(k);
    const weight = (x: { N: number; bytes: number }) => x.N * (x.bytes + 4 * MiB);
    const share = Math.max(0, (left * weight(c)) / rest.reduce((a, x) => a + weight(x), 0));
    const s = nowMs();
    const row = await measure(c.N, c.bytes, modules, share, opts.quick);
    rows.push(row);
    log(
      `N=${c.N} ${sizeLabel(c.bytes)}: ${row.error ?? `${row.ms.toFixed(3)} ms, busbw ${f2(row.busbwGbps)} GB/s, copy ${f2(row.copyGbps)} GB/s (${row.calls} calls)`} [${((nowMs() - s) / 1000).toFixed(1)} s]`,
    );
    if (k < cases.length - 1) write(false);
  }
  process.stdout.write(write(true));
  if (opts.out) log(`wrote ${path.join(opts.out, 'p1-transport.md')} and p1-transport.json`);
  if (rows.some((r) => r.error || !r.correct)) process.exitCode = 1;
}

await main();
