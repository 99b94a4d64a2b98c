// Measures Project 3's reference kernels at GPU sizes on this machine, through the same code the
// harness uses (projects/p3/child.ts on the submission's side, project.ts's inputs, checks and
// metrics on the trusted side), without the rest of the engine: it runs where only Node and the
// webgpu package are present (a GPU node; see gpu-check.sh, which bundles it with esbuild).
//
//   node --expose-gc gpu-measure.mjs --ref <folder with the reference's .wgsl files> [--torch torch.json]
//                        [--out results.json] [--small] [--diag | --fresh] [--only I] [--list] [--no-gc] [--prewarm N]
//                        [--backend webgpu|auto|webgpu-fallback]
//   node gpu-measure.mjs --merge a.json b.json ... [--out merged.json]
//
// Prints the table of docs/gpu-results.md (markdown) and writes every figure as JSON.
// --fresh: the memory-bound cases, the reference beside any candidate kernels (./candidates/), meant
// to be run one case per process (--list prints how many, --only I runs case I) so that no case is
// timed in a process that has run anything else; --merge makes one table of their JSON files. As the
// harness's driver does, a full garbage collection runs before every call's prepare (it releases
// the GPU objects of earlier calls that only the collector frees, such as bind groups); --no-gc
// leaves it out, as the runs of 2026-11-26 did (docs/gpu-results.md).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs as parseCliArgs } from 'node:util';
import { DEVICE_DURATION_KEY, type ChildContext } from '../../../harness/child/api.ts';
import { WARM_GROUPS, WARM_WGSL } from '../../../harness/child/gpu/launch.ts';
import { quantile } from '../../../harness/measure/stats.ts';
import type { Record_ } from '../../../harness/protocol/values.ts';
import { Rng, seedFrom } from '../../../harness/rng.ts';
import * as reference from '../../../reference/p3/index.ts';
import child from '../child.ts';
import project, { type KParams } from '../project.ts';
import type { Dims } from '../spec.ts';

interface Args {
  ref: string;
  torch: string | null;
  out: string | null;
  small: boolean;
  diag: boolean;
  fresh: boolean;
  /** Run only the case with this index in the chosen set. */
  only: number | null;
  list: boolean;
  /** JSON files of earlier runs to print as one table (nothing is measured). */
  merge: string[];
  /** Collect garbage before every call's prepare (the driver's way); false with --no-gc. */
  gc: boolean;
  /** Dispatches of arithmetic submitted before every call (about 1.5 ms each on an H100): a clock experiment. */
  prewarm: number;
  backend: string;
}

function parseArgs(argv: string[]): Args {
  const { values: v, positionals } = parseCliArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: {
      ref: { type: 'string' },
      torch: { type: 'string' },
      out: { type: 'string' },
      small: { type: 'boolean' },
      diag: { type: 'boolean' },
      fresh: { type: 'boolean' },
      only: { type: 'string' },
      list: { type: 'boolean' },
      merge: { type: 'boolean' },
      'no-gc': { type: 'boolean' },
      prewarm: { type: 'string' },
      backend: { type: 'string' },
    },
  });
  const merge = v.merge ? positionals : [];
  if (v.merge && !merge.length) throw new Error('--merge needs the JSON files to merge');
  if (!v.merge && positionals.length) throw new Error(`unexpected arguments: ${positionals.join(' ')}`);
  if (!v.ref && !v.merge && !v.list) throw new Error('--ref <folder of the reference kernels> is required');
  if (v.diag && v.fresh) throw new Error('--diag and --fresh are two different sets of cases: pass one');
  const only = v.only === undefined ? null : Number(v.only);
  if (only !== null && !(Number.isInteger(only) && only >= 0)) throw new Error(`--only takes a case's index (0, 1, ...), got '${v.only}'`);
  const prewarm = Number(v.prewarm ?? 0);
  if (!(Number.isInteger(prewarm) && prewarm >= 0)) throw new Error(`--prewarm takes a number of dispatches (0, 1, ...), got '${v.prewarm}'`);
  const gc = !v['no-gc'];
  if (gc && !v.merge && !v.list && typeof (globalThis as { gc?: unknown }).gc !== 'function')
    throw new Error('run node with --expose-gc (a collection runs before every call, as in the harness), or pass --no-gc');
  return {
    ref: v.ref ?? '',
    torch: v.torch ?? null,
    out: v.out ?? null,
    small: v.small ?? false,
    diag: v.diag ?? false,
    fresh: v.fresh ?? false,
    only,
    list: v.list ?? false,
    merge,
    gc,
    prewarm,
    backend: v.backend ?? 'webgpu',
  };
}

interface Case {
  task: string;
  label: string;
  dims: Dims;
  /** Which implementation: the reference's own export, a variant of it, or the tfjs baseline. */
  impl: string;
  launch?: unknown;
}

/**
 * A reduce_sum launch of the reference's WGSL with other CHUNK and MAXG values. At 16384 x 4096
 * it does exactly the reference's work (one workgroup per row either way).
 */
function reduceWith(CHUNK: number, MAXG: number): object {
  const G = (cols: number) => Math.min(Math.max(Math.ceil(cols / CHUNK), 1), MAXG);
  const o = { CHUNK, MAXG };
  const file = 'reduce_sum.wgsl';
  return {
    passes: [
      { file, entryPoint: 'partial', overrides: o, workgroups: ({ rows, cols }: { rows: number; cols: number }) => [G(cols), rows] },
      { file, entryPoint: 'finish', overrides: o, workgroups: ({ rows, cols }: { rows: number; cols: number }) => (G(cols) === 1 ? [1] : [rows]) },
    ],
    scratch: ({ rows, cols }: { rows: number; cols: number }) => (G(cols) === 1 ? 0 : rows * G(cols)),
  };
}

/**
 * --diag: the same work measured several times in one process, in alternation, to tell a
 * kernel's speed from the state the device is in (docs/gpu-results.md, "What these figures do
 * and do not show").
 */
function diagCases(small: boolean): Case[] {
  const s = (big: number, little: number) => (small ? little : big);
  const rowsD = { rows: s(16384, 256), cols: 4096 };
  const vecD = { rows: 1, cols: s(67108864, 1 << 20) };
  const out: Case[] = [];
  const same = reduceWith(4096, 65535);
  for (const [impl, launch] of [['reference', undefined], ['reference, CHUNK 4096', same], ['reference', undefined], ['reference, CHUNK 4096', same], ['reference', undefined]] as const)
    out.push({ task: 'reduce_sum', label: `reduce_sum ${JSON.stringify(rowsD)}`, dims: rowsD, impl: `${impl} (#${out.length + 1})`, launch });
  for (let i = 0; i < 3; i++) out.push({ task: 'softmax', label: `softmax ${JSON.stringify(rowsD)}`, dims: rowsD, impl: `reference (#${out.length + 1})` });
  for (let i = 0; i < 2; i++) out.push({ task: 'reduce_sum', label: `reduce_sum ${JSON.stringify(vecD)}`, dims: vecD, impl: `reference (#${out.length + 1})` });
  return out;
}

/**
 * --fresh: the memory-bound cases of the main set, the reference and candidate kernels on the same
 * inputs. Run one case per process (gpu-check.sh fresh does): each case then starts right after
 * the process's probe (copy and FMA), on a busy GPU, with nothing else run before it.
 */
function freshCases(small: boolean): Case[] {
  const s = (big: number, little: number) => (small ? little : big);
  const rows = (r: number, c: number) => ({ rows: r, cols: c });
  const out: Case[] = [];
  const add = (task: string, d: Dims, impls: [string, unknown][]) => {
    for (const [impl, launch] of impls) out.push({ task, label: `${task} ${JSON.stringify(d)}`, dims: d, impl, launch });
  };
  // A candidate kernel goes in candidates/ beside this script (copied beside the reference's files by `prepare`)
  // and is measured on the reference's inputs with an entry such as
  //   ['candidate softmax_x', { file: 'softmax_x.wgsl', overrides: { WG: 256 }, workgroups: (s, d) => [...] }]
  // beside ['reference', undefined]. Measured on an H100 or H200 and not kept (docs/gpu-results.md):
  // a softmax with the row in an array, with four loads an iteration, with 512 or 1024 threads
  // streaming; transposes with 64 x 64 tiles, vec4 loads, four tiles a workgroup (with and without
  // the next tile's loads first), workgroup memory left unzeroed, 128-byte aligned stores,
  // row-major tile order;
  // reduce_sum with more workgroups; layernorm with subgroup reductions. Adopted: the softmax's
  // vec4 stores and its row in registers for wide rows, the transpose's and the layernorm's loads
  // issued before their results are used, the transpose's column-major order for odd rows.
  add('softmax', rows(s(16384, 256), 4096), [['reference', undefined]]);
  add('softmax', rows(s(2048, 8), 32768), [['reference', undefined]]);
  add('layernorm', { ...rows(s(16384, 256), 4096), eps: 1e-5 }, [['reference', undefined]]);
  add('reduce_sum', rows(1, s(67108864, 1 << 20)), [['reference', undefined]]);
  add('reduce_sum', rows(s(16384, 256), 4096), [['reference', undefined]]);
  // Odd shapes, one odd side at a time (H200, 2026-11-27): 8192 x 8193 (x's rows unaligned) ran
  // at 84% of copy, 8193 x 8192 (y's rows 8193 floats apart) at 56% in diagonal tile order, 67%
  // in the column-major order the reference now takes for such shapes, against 87% for 8192^2.
  for (const d of [rows(s(8192, 512), s(8192, 512)), rows(s(8191, 511), s(8193, 513)), rows(s(8192, 512), s(8193, 513)), rows(s(8193, 513), s(8192, 512))])
    add('transpose', d, [['reference', undefined]]);
  return out;
}

function cases(small: boolean): Case[] {
  const s = (big: number, little: number) => (small ? little : big);
  const mm = (n: number) => ({ M: n, N: n, K: n });
  const out: Case[] = [];
  const n = s(4096, 256);
  for (const id of ['matmul_naive', 'matmul_coalesced', 'matmul_tiled', 'matmul_regblock', 'matmul_vec4'])
    out.push({ task: 'matmul', label: `${id} ${n}^3`, dims: mm(n), impl: id, launch: (reference as Record<string, unknown>)[id] });
  for (const bk of [8, 16]) out.push({ task: 'matmul', label: `matmul ${n}^3, BK ${bk}`, dims: mm(n), impl: `reference BK=${bk}`, launch: { ...reference.matmul_vec4, overrides: { BK: bk } } });
  out.push({ task: 'matmul', label: `matmul ${s(8192, 384)}^3`, dims: mm(s(8192, 384)), impl: 'reference' });
  out.push({ task: 'matmul', label: `matmul ${n}^3`, dims: mm(n), impl: 'tfjs-webgpu', launch: { library: 'tfjs-webgpu' } });
  const rows = (r: number, c: number) => ({ rows: r, cols: c });
  for (const [task, d] of [
    ['softmax', rows(s(16384, 256), 4096)],
    ['softmax', rows(s(2048, 8), 32768)],
    ['layernorm', { ...rows(s(16384, 256), 4096), eps: 1e-5 }],
    ['reduce_sum', rows(1, s(67108864, 1 << 20))],
    ['reduce_sum', rows(s(16384, 256), 4096)],
    ['transpose', rows(s(8192, 512), s(8192, 512))],
    ['transpose', rows(s(8191, 511), s(8193, 513))],
  ] as [string, Dims][]) {
    out.push({ task, label: `${task} ${JSON.stringify(d)}`, dims: d, impl: 'reference' });
    out.push({ task, label: `${task} ${JSON.stringify(d)}`, dims: d, impl: 'tfjs-webgpu', launch: { library: 'tfjs-webgpu' } });
  }
  for (const [D, causal] of [
    [128, true],
    [128, false],
    [64, true],
  ] as [number, boolean][]) {
    const d = { B: s(8, 1), H: s(16, 2), Sq: s(4096, 256), Sk: s(4096, 256), D, causal };
    out.push({ task: 'attention_fwd', label: `attention ${causal ? 'causal ' : ''}B${d.B} H${d.H} S${d.Sq} D${D}`, dims: d, impl: 'reference' });
  }
  // tfjs's unfused attention holds the scores, B·H·S·S floats: at B8 H16 S4096 that is 8 GiB, over
  // the 2 GiB a storage binding may have (Dawn refused the bind groups, and the result was wrong:
  // H100 and H200, 2026-11-26/27). At B1 it is 1 GiB; the reference is timed at that size too.
  const d = { B: 1, H: s(16, 2), Sq: s(4096, 256), Sk: s(4096, 256), D: 128, causal: true };
  for (const impl of ['reference', 'tfjs-webgpu (unfused)'])
    out.push({ task: 'attention_fwd', label: `attention causal B${d.B} H${d.H} S${d.Sq} D128`, dims: d, impl, ...(impl === 'reference' ? {} : { launch: { library: 'tfjs-webgpu' } }) });
  return out;
}

interface Row {
  label: string;
  task: string;
  impl: string;
  ok: boolean;
  message: string;
  ms: number | null;
  /** The fastest and slowest timed run. */
  ms_range?: [number, number];
  metrics: Record<string, number>;
}

const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.merge.length) return merge(args);
  const all = args.diag ? diagCases(args.small) : args.fresh ? freshCases(args.small) : cases(args.small);
  if (args.list) {
    process.stdout.write(`${all.length}\n`);
    return;
  }
  if (args.only !== null && args.only >= all.length) throw new Error(`--only ${args.only}: this set has ${all.length} cases (0 to ${all.length - 1})`);
  const chosen = args.only === null ? all : [all[args.only]!];
  const setup = await child.setup!({ backend: args.backend });
  const t0 = performance.now();
  const ctx: ChildContext = { rt: null as never, resources: setup.resources, submissionDir: path.resolve(args.ref), entryUrl: pathToFileURL(path.resolve(args.ref, 'index.ts')).href, nowMs: () => performance.now() - t0, phase: () => {} };
  const rows: Row[] = [];
  for (const c of chosen) {
    const id = c.task;
    const task = project.tasks.find((t) => t.id === id)!;
    const ct = child.tasks[id]!;
    const sub = { ...reference, ...(c.launch ? { [id]: c.launch } : {}) } as Record<string, unknown>;
    const params: KParams = { dims: c.dims, verify: 'sampled', probe: true, library: true, watchdogMs: 60_000 };
    const row: Row = { label: c.label, task: c.task, impl: c.impl, ok: true, message: '', ms: null, metrics: {} };
    try {
      const pool = [0, 1, 2].map((k) => {
        const inputs = task.generate(params, new Rng(seedFrom('gpu-check', c.label, String(k))));
        return { inputs, expected: task.oracle(params, inputs) };
      });
      const times: number[] = [];
      const ratios: number[] = [];
      let last: { inputs: Record_; expected: unknown; outputs: Record_ } | null = null;
      const tStart = performance.now();
      for (let i = 0; i < 60; i++) {
        const item = pool[i % pool.length]!;
        if (args.gc) (globalThis as { gc?: () => void }).gc!();
        if (args.prewarm > 0) prewarm((setup.resources as { h: { device: GPUDevice } }).h.device, args.prewarm);
        const a = await ct.prepare(item.inputs, ctx);
        const outputs = await ct.invoke(sub, a, ctx);
        const ms = outputs[DEVICE_DURATION_KEY] as number;
        delete outputs[DEVICE_DURATION_KEY];
        // Every pool item's first output is checked against the oracle (sampled).
        if (i < pool.length) {
          const chk = task.check(params, item.inputs, outputs, item.expected, { peakBytes: null });
          if (!chk.ok) throw new Error(`wrong result: ${chk.message}`);
        }
        if (i >= 3) {
          times.push(ms); // the first three warm up
          if (typeof outputs.warm_ratio === 'number') ratios.push(outputs.warm_ratio);
        }
        last = { ...item, outputs };
        if (i >= 13 && performance.now() - tStart > 3000) break;
      }
      row.ms = median(times);
      row.ms_range = [Math.min(...times), Math.max(...times)];
      row.metrics = task.metrics!(params, { ms: row.ms, ms_iqr: 0 }, last ? [last] : []);
      // The clock gauge over all timed runs (the metric above has the last one's only).
      if (ratios.length) row.metrics.warm_ratio_max = Math.max(...ratios);
    } catch (e) {
      row.ok = false;
      row.message = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    }
    rows.push(row);
    process.stderr.write(`${row.label} [${row.impl}]: ${row.ok ? `${row.ms!.toFixed(3)} ms (${row.ms_range!.map((x) => x.toFixed(3)).join('–')}) ${JSON.stringify(row.metrics)}` : `FAILED ${row.message}`}\n`);
  }

  const torch = args.torch ? (JSON.parse(readFileSync(args.torch, 'utf8')) as Record<string, number>) : null;
  const device = setup.device;
  const result: Result = { date: new Date().toISOString(), device, torch, gcBeforeEachCall: args.gc, rows };
  if (args.out) writeFileSync(args.out, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(table(result));
  process.exit(0);
}

// --prewarm N: N more dispatches of the harness's warm-up kernel (about 1.5 ms each on an H100 or
// H200), submitted unwaited before every call, besides the harness's own warm-up: to tell whether
// a GPU kept busier keeps its speed (it did, 2026-11-27: docs/gpu-results.md).
let prewarmKit: { pipeline: GPUComputePipeline; group: GPUBindGroup } | null = null;
function prewarm(d: GPUDevice, dispatches: number): void {
  if (!prewarmKit) {
    const pipeline = d.createComputePipeline({ layout: 'auto', compute: { module: d.createShaderModule({ code: WARM_WGSL }), entryPoint: 'main' } });
    const buf = d.createBuffer({ size: 16, usage: 0x80 /* STORAGE */ });
    prewarmKit = { pipeline, group: d.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] }) };
  }
  const enc = d.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(prewarmKit.pipeline);
  pass.setBindGroup(0, prewarmKit.group);
  for (let i = 0; i < dispatches; i++) pass.dispatchWorkgroups(WARM_GROUPS);
  pass.end();
  d.queue.submit([enc.finish()]);
}

interface Result {
  date: string;
  device: Record<string, unknown>;
  torch: Record<string, number> | null;
  gcBeforeEachCall: boolean;
  rows: Row[];
}

/** --merge: one table (and one JSON) of several runs' rows, e.g. one case per process. */
function merge(args: Args): void {
  const parts = args.merge.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Result);
  const first = parts[0]!;
  const result: Result = { ...first, gcBeforeEachCall: parts.every((p) => p.gcBeforeEachCall), rows: parts.flatMap((p) => p.rows) };
  if (args.out) writeFileSync(args.out, JSON.stringify({ ...result, mergedFrom: args.merge.map((f) => path.basename(f)) }, null, 2) + '\n');
  process.stdout.write(table(result));
}

/** The markdown of docs/gpu-results.md for one sitting. */
function table(r: Result): string {
  const f = (x: number | undefined, d = 1) => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
  const pct = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : `${(100 * x).toFixed(0)}%`);
  const dev = r.device;
  const lines: string[] = [];
  lines.push(`### ${String(dev.adapter)} (${String(dev.vendor)}, ${String(dev.description)}), ${r.date.slice(0, 10)}`);
  lines.push('');
  const copy = r.rows.find((x) => x.metrics.copy_gbps)?.metrics;
  // Merged runs (one case per process) each measured the copy bandwidth in their own process.
  const copies = r.rows.map((x) => x.metrics.copy_gbps).filter((x): x is number => Number.isFinite(x));
  lines.push(`Garbage collected before every call (as the harness does): ${r.gcBeforeEachCall ? 'yes' : 'no (--no-gc)'}.`);
  const copyText = copies.length > 1 && Math.max(...copies) > Math.min(...copies) ? `${f(Math.min(...copies), 0)}–${f(Math.max(...copies), 0)} GB/s (each row's own process)` : `${f(copy?.copy_gbps, 0)} GB/s`;
  lines.push(`Measured limits: copy ${copyText} (read + write), FMA ${f((copy?.fma_gflops ?? NaN) / 1000, 1)} TFLOP/s fp32.`);
  if (r.torch) lines.push(`PyTorch on the same card: cuBLAS fp32 SGEMM 4096³ (TF32 off) ${f(r.torch.sgemm_4096_tflops, 1)} TFLOP/s, device copy ${f(r.torch.copy_gbps, 0)} GB/s.`);
  lines.push('');
  lines.push("Clock gauge: the slowest warm-up before a timed run against the process's fastest (1.00: the best clock seen; blank: warm-up off, as on a CPU adapter).");
  lines.push('');
  lines.push('| kernel | case | implementation | ms, median (min–max) | TFLOP/s | GB/s | roofline | clock gauge | target | result |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const x of r.rows) {
    if (!x.ok) {
      lines.push(`| ${x.task} | ${x.label} | ${x.impl} | failed: ${x.message.replace(/\|/g, '/')} | | | | | | |`);
      continue;
    }
    const m = x.metrics;
    let target = '';
    let verdict = '';
    // The targets are the reference's; candidates are shown against them too.
    const ours = x.impl.startsWith('reference') || x.impl.startsWith('candidate') || x.impl.startsWith('diagnostic');
    const big = /\b(4096|8192)\^3/.exec(x.label)?.[1];
    if (x.task === 'matmul' && ours && big) {
      target = big === '4096' ? '≥ 60% of cuBLAS fp32' : 'vs cuBLAS fp32 8192³';
      const cublas = r.torch?.[`sgemm_${big}_tflops`];
      if (cublas) verdict = `${pct((m.gflops ?? 0) / 1000 / cublas)} of cuBLAS: ${(m.gflops ?? 0) / 1000 / cublas >= 0.6 ? 'met' : 'NOT met'}`;
    } else if (['softmax', 'layernorm', 'reduce_sum', 'transpose'].includes(x.task) && ours) {
      target = '≥ 75% of copy bandwidth';
      verdict = `${pct(m.roofline_fraction)}: ${(m.roofline_fraction ?? 0) >= 0.75 ? 'met' : 'NOT met'}`;
    } else if (x.task === 'attention_fwd' && x.impl === 'reference' && x.label.includes(' B8 ')) {
      target = 'report; vs PyTorch fp32 SDPA';
      const key = `sdpa_${x.label.includes('causal') ? 'causal_' : ''}d${x.label.includes('D128') ? 128 : 64}_tflops`;
      const sdpa = r.torch?.[key];
      verdict = sdpa ? `${pct((m.gflops ?? 0) / 1000 / sdpa)} of SDPA (${f(sdpa, 1)} TFLOP/s)` : '';
    }
    lines.push(
      `| ${x.task} | ${x.label} | ${x.impl} | ${f(x.ms!, 3)}${x.ms_range ? ` (${f(x.ms_range[0], 3)}–${f(x.ms_range[1], 3)})` : ''} | ${m.gflops ? f(m.gflops / 1000, 2) : ''} | ${f(m.gbps, 0)} | ${pct(m.roofline_fraction)} | ${m.warm_ratio_max ? f(m.warm_ratio_max, 2) : ''} | ${target} | ${verdict} |`,
    );
  }
  lines.push('');
  return lines.join('\n') + '\n';
}

main().catch((e) => {
  process.stderr.write(`gpu-measure: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
