// Project 3 on the submission's side: opens the process's WebGPU device, fills the inputs from
// their seeds on the GPU, compiles the student's WGSL with the launch description their
// index.ts exports, poisons the outputs with NaN, runs the kernel timed with GPU timestamps, and
// brings back the outputs (whole, or scanned and sampled when large).
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { caseMessage, caseMismatch } from '../../harness/child/exact-case.mjs';
import path from 'node:path';
import { BadOutputError, DEVICE_DURATION_KEY, defineChild, type ChildContext, type ChildTask, type Submission } from '../../harness/child/api.ts';
import { PipelineCache } from '../../harness/child/gpu/compile.ts';
import { adapterPolicyFor, openGpu, type GpuHandle } from '../../harness/child/gpu/device.ts';
import { POISON_BITS } from '../../harness/child/gpu/fill.ts';
import { bufferBytes, computeLayout, GpuRunner, storageBuffer, uniformBuffer, type Dispatch, type Layout } from '../../harness/child/gpu/launch.ts';
import { measureLimits, type Limits } from '../../harness/child/gpu/probe.ts';
import type { Record_, Value } from '../../harness/protocol/values.ts';
import type { DeviceInfo } from './api.ts';
import type { LibraryRunner } from './baselines/tfjs-runner.ts';
import { likelyMeant } from '../../harness/suggest.ts';
import { checkBindings, checkEntryPoint, checkFields, PASS_FIELDS } from './launch-check.ts';
import { familyOf, kernelIO, sampleIndices, STAGE_RULES, TASKS, type Family, type KernelIO, type TaskId, type WireInputs } from './spec.ts';

interface Resources {
  h: GpuHandle;
  runner: GpuRunner;
  pipelines: PipelineCache;
  layouts: Map<Family, Layout>;
  /** Filled input buffers by their fill specs, most recent last (a few are kept: timed inputs rotate). */
  inputs: Map<string, Record<string, GPUBuffer>>;
  /** Output and scratch buffers by role and size, reused (poisoned before every run). */
  buffers: Map<string, GPUBuffer>;
  limits: Promise<Limits> | null;
  library: Promise<LibraryRunner> | null;
  /** Pipelines compiled before their first run (a CPU adapter compiles at the first dispatch: GpuRunner.compile). */
  compiled: WeakSet<GPUComputePipeline>;
}

/** What prepare hands to invoke. */
interface Args {
  w: WireInputs;
  family: Family;
  io: KernelIO;
  inputs: Record<string, GPUBuffer>;
  limits: Limits | null;
}

interface PassSpec {
  where: string;
  file: string;
  entryPoint: string;
  overrides: Record<string, unknown> | ((sizes: Record<string, number>, device: DeviceInfo) => unknown);
  workgroups: (sizes: Record<string, number>, device: DeviceInfo) => unknown;
}

const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);
const describe = (x: unknown) => (x === null ? 'null' : Array.isArray(x) ? 'an array' : typeof x);

function res(ctx: ChildContext): Resources {
  return ctx.resources as Resources;
}

function layoutFor(r: Resources, family: Family, io: KernelIO): Layout {
  let l = r.layouts.get(family);
  if (!l) {
    l = computeLayout(
      r.h,
      ['uniform', ...io.inputs.map(() => 'read-only-storage' as const), ...io.outputs.map(() => 'storage' as const), 'storage'],
      `p3-${family}`,
    );
    r.layouts.set(family, l);
  }
  return l;
}

// Every output's binding goes on for GUARD_BYTES past the output's (16-byte padded) end. The
// guard is poisoned with the outputs before every run, and any element of it written by the
// kernel fails the case with a message about writes past the end: with WebGPU's bounds checks a
// stray store cannot corrupt another buffer, but on other APIs (CUDA) the same bug does, and the
// course asks for kernels that stay in bounds. Stores further out than the guard stay inside the
// binding or are dropped (Dawn on Mesa's CPU driver drops them), so they cannot be seen. A kernel that bounds its loops by arrayLength() instead of
// the sizes in the uniform also writes the guard, and is told so.
const GUARD_BYTES = 16384;

interface OutputSize {
  bytes: number;
  guard: number;
}

/** An output of n float32 elements: its padded size and its guard, in bytes. */
function outputBytes(r: Resources, n: number): OutputSize {
  const bytes = bufferBytes(n * 4);
  const max = Math.min(r.h.limits.maxBufferSize, r.h.limits.maxStorageBufferBindingSize);
  return { bytes, guard: Math.max(0, Math.min(GUARD_BYTES, Math.floor((max - bytes) / 16) * 16)) };
}

function buffer(r: Resources, key: string, bytes: number, label: string): GPUBuffer {
  const have = r.buffers.get(key);
  // Reused when big enough but not much bigger (the whole buffer is poisoned before every run).
  if (have && have.size >= bufferBytes(bytes) && have.size <= 2 * bufferBytes(bytes) + 4096) return have;
  have?.destroy();
  const b = storageBuffer(r.h, bytes, label);
  r.buffers.set(key, b);
  return b;
}

function filledInputs(r: Resources, w: WireInputs, io: KernelIO): Record<string, GPUBuffer> {
  const key = JSON.stringify(w.fills);
  const have = r.inputs.get(key);
  if (have) {
    r.inputs.delete(key);
    r.inputs.set(key, have);
    return have;
  }
  // Keep at most 4 sets (the timed inputs rotate over 4) and 1 GiB on a CPU adapter.
  const bytesOf = (b: Record<string, GPUBuffer>) => Object.values(b).reduce((a, x) => a + x.size, 0);
  const cap = r.h.fallback ? 2 ** 30 : 16 * 2 ** 30;
  const need = io.inputs.reduce((a, t) => a + bufferBytes(numel(t.shape) * 4), 0);
  for (;;) {
    const total = [...r.inputs.values()].reduce((a, b) => a + bytesOf(b), 0);
    if (r.inputs.size < 4 && total + need <= cap) break;
    const oldest = r.inputs.keys().next();
    if (oldest.done) break;
    for (const b of Object.values(r.inputs.get(oldest.value)!)) b.destroy();
    r.inputs.delete(oldest.value);
  }
  const bufs: Record<string, GPUBuffer> = {};
  for (const t of io.inputs) {
    const f = w.fills[t.name];
    if (!f || f.n !== numel(t.shape)) throw new Error(`internal: no fill, or a fill of the wrong size, for input '${t.name}'`);
    bufs[t.name] = storageBuffer(r.h, f.n * 4, `input ${t.name}`);
    r.runner.fill(bufs[t.name]!, f);
  }
  r.inputs.set(key, bufs);
  return bufs;
}

/** The launch description the submission exports for a task, checked and normalized. */
function readLaunch(task: TaskId, launch: unknown): { passes: PassSpec[]; scratch: ((s: Record<string, number>) => unknown) | null } | { library: string } {
  const shape = `export const ${task} = { file: '${task}.wgsl', workgroups: (sizes) => [x, y, z], overrides?: {...}, entryPoint?: 'main' } (or { passes: [...] })`;
  if (typeof launch !== 'object' || launch === null) throw new BadOutputError(`'${task}' must be a launch description, got ${describe(launch)}: ${shape}`);
  const l = launch as Record<string, unknown>;
  if (typeof l.library === 'string') return { library: l.library };
  if (Array.isArray(l.passes)) checkFields(l, ['passes', 'scratch'], `'${task}'`, Object.fromEntries(PASS_FIELDS.map((f) => [f, `belongs inside each pass of '${task}'.passes`])));
  else checkFields(l, [...PASS_FIELDS, 'scratch'], `'${task}'`);
  const raw = Array.isArray(l.passes) ? (l.passes as unknown[]) : [l];
  if (!raw.length) throw new BadOutputError(`'${task}'.passes is empty: ${shape}`);
  const passes = raw.map((p, i): PassSpec => {
    const where = Array.isArray(l.passes) ? `'${task}'.passes[${i}]` : `'${task}'`;
    if (typeof p !== 'object' || p === null) throw new BadOutputError(`${where} must be an object, got ${describe(p)}: ${shape}`);
    const q = p as Record<string, unknown>;
    if (Array.isArray(l.passes)) checkFields(q, PASS_FIELDS, where, { scratch: `belongs beside 'passes', at the top of '${task}', not inside a pass` });
    if (typeof q.file !== 'string' || !q.file) throw new BadOutputError(`${where}.file must name a WGSL file beside index.ts: ${shape}`);
    if (typeof q.workgroups !== 'function') throw new BadOutputError(`${where}.workgroups must be a function (sizes) => [x, y, z]: ${shape}`);
    if (q.entryPoint !== undefined && typeof q.entryPoint !== 'string') throw new BadOutputError(`${where}.entryPoint must be a string`);
    if (q.overrides !== undefined && (typeof q.overrides !== 'object' || q.overrides === null) && typeof q.overrides !== 'function')
      throw new BadOutputError(`${where}.overrides must be an object of numbers, or a function (sizes, device) returning one`);
    return {
      where,
      file: q.file,
      entryPoint: (q.entryPoint as string | undefined) ?? 'main',
      overrides: (q.overrides as PassSpec['overrides']) ?? {},
      workgroups: q.workgroups as PassSpec['workgroups'],
    };
  });
  if (l.scratch !== undefined && typeof l.scratch !== 'function') throw new BadOutputError(`'${task}'.scratch must be a function (sizes) => number of float32 elements`);
  return { passes, scratch: (l.scratch as ((s: Record<string, number>) => unknown) | undefined) ?? null };
}

function readSource(dir: string, file: string): string {
  const p = path.resolve(dir, file);
  if (!p.startsWith(path.resolve(dir) + path.sep)) throw new BadOutputError(`'${file}': a kernel file must be inside your submission folder`);
  if (!existsSync(p)) {
    const here = existsSync(path.dirname(p)) ? readdirSync(path.dirname(p)).filter((f) => f.endsWith('.wgsl')) : [];
    const meant = likelyMeant(path.basename(p), here);
    throw new BadOutputError(
      `'${file}': no such file in your submission folder` +
        (meant ? ` (did you mean '${meant}'? names are exact, capitals included)` : here.length ? ` (its .wgsl files: ${here.join(', ')})` : ' (it has no .wgsl file)'),
    );
  }
  const m = caseMismatch(p, dir);
  if (m) throw new BadOutputError(caseMessage(`kernel file '${file}'`, m));
  return readFileSync(p, 'utf8');
}

function deviceInfo(h: GpuHandle): DeviceInfo {
  return {
    maxComputeWorkgroupsPerDimension: h.limits.maxComputeWorkgroupsPerDimension,
    maxComputeInvocationsPerWorkgroup: h.limits.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupStorageSize: h.limits.maxComputeWorkgroupStorageSize,
    subgroupMinSize: Number(h.record.subgroup_min_size ?? 0),
    subgroupMaxSize: Number(h.record.subgroup_max_size ?? 0),
    fallback: h.fallback,
  };
}

function grid(task: string, p: PassSpec, sizes: Record<string, number>, info: DeviceInfo): [number, number, number] {
  let g: unknown;
  try {
    g = p.workgroups({ ...sizes }, { ...info });
  } catch (e) {
    throw new BadOutputError(`${p.where} (${p.file}): workgroups(sizes) threw: ${e instanceof Error ? e.message : String(e)}`);
  }
  const max = info.maxComputeWorkgroupsPerDimension;
  if (!Array.isArray(g) || g.length < 1 || g.length > 3 || !g.every((x) => Number.isInteger(x) && x >= 1 && x <= max))
    throw new BadOutputError(
      `${p.where} (${p.file}): workgroups(${JSON.stringify(sizes)}) returned ${JSON.stringify(g)}; expected [x], [x, y] or [x, y, z] of integers from 1 to ${max} ` +
        `(the device's maxComputeWorkgroupsPerDimension: for more, use a 2-D grid or loop inside the kernel)`,
    );
  return [g[0], g[1] ?? 1, g[2] ?? 1];
}

/** The pass's override constants for these sizes, checked. */
function overridesFor(p: PassSpec, sizes: Record<string, number>, info: DeviceInfo): Record<string, number> {
  let o: unknown = p.overrides;
  if (typeof o === 'function') {
    try {
      o = (p.overrides as (s: Record<string, number>, d: DeviceInfo) => unknown)({ ...sizes }, { ...info });
    } catch (e) {
      throw new BadOutputError(`${p.where} (${p.file}): overrides(sizes) threw: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new BadOutputError(`${p.where}.overrides must give an object of numbers, got ${describe(o)}`);
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new BadOutputError(`${p.where}.overrides.${k} must be a finite number, got ${describe(v)}`);
    out[k] = v;
  }
  return out;
}

function sampledKey(w: WireInputs): string {
  return `${JSON.stringify(w.dims)}/${w.sample_seed}`;
}
const indexCache = new Map<string, Uint32Array>();

async function readOutputs(
  r: Resources,
  w: WireInputs,
  family: Family,
  io: KernelIO,
  outs: Record<string, GPUBuffer>,
  sizes: Record<string, OutputSize>,
): Promise<Record_> {
  const result: Record_ = {};
  const pastEnd: Record_ = {};
  const firstPastEnd: Record_ = {};
  for (const t of io.outputs) {
    const n = numel(t.shape);
    const { bytes, guard } = sizes[t.name]!;
    if (w.verify === 'full') {
      const all = await r.runner.readFloat32(outs[t.name]!, (bytes + guard) / 4, `reading back '${t.name}'`, w.watchdog_ms);
      result[t.name] = { dtype: 'float32', shape: t.shape, data: all.slice(0, n) };
      const g = new Uint32Array(all.buffer, all.byteOffset + bytes, guard / 4);
      const first = g.findIndex((x) => x !== POISON_BITS);
      if (first >= 0) {
        pastEnd[t.name] = g.reduce((a, x) => a + (x !== POISON_BITS ? 1 : 0), 0);
        firstPastEnd[t.name] = bytes / 4 + first;
      }
    } else {
      let idx = indexCache.get(sampledKey(w));
      if (!idx) {
        idx = sampleIndices(family, w.dims, w.sample_seed);
        if (indexCache.size > 16) indexCache.clear();
        indexCache.set(sampledKey(w), idx);
      }
      const s = await r.runner.scanAndGather(outs[t.name]!, n, idx, `checking '${t.name}'`, w.watchdog_ms, [bytes / 4, (bytes + guard) / 4]);
      if (s.pastEnd > 0) {
        pastEnd[t.name] = s.pastEnd;
        firstPastEnd[t.name] = s.firstPastEnd;
      }
      result[t.name] = {
        sampled: true,
        n,
        non_finite: s.nonFinite,
        first_non_finite: s.firstNonFinite,
        unwritten: s.unwritten,
        first_unwritten: s.firstUnwritten,
        values: { dtype: 'float32', shape: [s.samples.length], data: s.samples },
      };
    }
  }
  if (Object.keys(pastEnd).length) {
    result.past_end = pastEnd;
    result.first_past_end = firstPastEnd;
  }
  return result;
}

function kernelTask(task: TaskId): ChildTask<Args> {
  const family = familyOf(task);
  return {
    exports: [task],
    async prepare(inputs, ctx): Promise<Args> {
      const r = res(ctx);
      const w = inputs as unknown as WireInputs;
      // The engine does not ask for these on a CPU adapter (the task's skipOn); a direct caller
      // (a script) gets the reason as an error.
      if (w.gpu_scale && r.h.fallback)
        throw new Error(
          `this case is sized for a GPU (${JSON.stringify(w.dims)}) and is not run on a CPU adapter (${r.h.record.adapter}); ` +
            'run it on a machine with a GPU, or time the smaller cases',
        );
      const io = kernelIO(family, w.dims);
      const bufs = filledInputs(r, w, io);
      let limits: Limits | null = null;
      if (w.probe) {
        r.limits ??= measureLimits(r.h, r.runner);
        limits = await r.limits;
      }
      return { w, family, io, inputs: bufs, limits };
    },
    async invoke(sub: Submission, a: Args, ctx): Promise<Record_> {
      const r = res(ctx);
      const { w, io } = a;
      const launch = readLaunch(task, sub[task]);
      const sizes = Object.fromEntries(io.uniform.map((f) => [f.name, f.type === 'f32' ? Math.fround(f.value) : f.value]));
      const outs: Record<string, GPUBuffer> = {};
      const outSizes: Record<string, OutputSize> = {};
      for (const t of io.outputs) {
        const s = (outSizes[t.name] = outputBytes(r, numel(t.shape)));
        outs[t.name] = buffer(r, `${family}/${t.name}`, s.bytes + s.guard, `output ${t.name}`);
      }

      let ms: number;
      let clock: string;
      let warmRatio: number | undefined;
      if ('library' in launch) {
        if (!w.allow_library)
          throw new BadOutputError(`'${task}': a library implementation ('${launch.library}') is for the harness's baselines only; write the kernel in WGSL`);
        r.library ??= startLibrary(r, launch.library);
        const lib = await r.library;
        // Poisoned as before a kernel's run (the library's own run does not): the same checks of
        // unwritten elements and of the guards then hold for its results.
        r.runner.poison(Object.values(outs));
        ({ ms, clock } = await lib.run(family, w, io, a.inputs, outs));
      } else {
        const info = deviceInfo(r.h);
        const sources = launch.passes.map((p) => readSource(ctx.submissionDir, p.file));
        launch.passes.forEach((p, i) => {
          checkEntryPoint(sources[i]!, p.file, p.entryPoint, p.where);
          checkBindings(sources[i]!, p.file, io, launch.scratch !== null, task);
        });
        for (const rule of STAGE_RULES[task] ?? [])
          if (!sources.some((s) => rule.pattern.test(s))) throw new BadOutputError(`'${task}' (${launch.passes.map((p) => p.file).join(', ')}): ${rule.message}`);
        const layout = layoutFor(r, family, io);
        const pipelines: GPUComputePipeline[] = [];
        for (let i = 0; i < launch.passes.length; i++) {
          const p = launch.passes[i]!;
          pipelines.push(await r.pipelines.get(sources[i]!, p.file, p.entryPoint, overridesFor(p, sizes, info), layout.pipelineLayout, layout.key));
        }
        let scratchWords = 0;
        if (launch.scratch) {
          let s: unknown;
          try {
            s = launch.scratch({ ...sizes });
          } catch (e) {
            throw new BadOutputError(`'${task}': scratch(sizes) threw: ${e instanceof Error ? e.message : String(e)}`);
          }
          if (!Number.isInteger(s) || (s as number) < 0) throw new BadOutputError(`'${task}': scratch(sizes) must return a whole number of float32 elements, got ${String(s)}`);
          scratchWords = s as number;
        }
        const scratch = buffer(r, `${family}/scratch`, Math.max(4, scratchWords) * 4, 'scratch');
        const uniform = uniformBuffer(r.h, io.uniform, `${task} sizes`);
        const entries: GPUBindGroupEntry[] = [
          { binding: 0, resource: { buffer: uniform } },
          ...io.inputs.map((t, i) => ({ binding: 1 + i, resource: { buffer: a.inputs[t.name]!, size: bufferBytes(numel(t.shape) * 4) } })),
          ...io.outputs.map((t, i) => ({ binding: 1 + io.inputs.length + i, resource: { buffer: outs[t.name]!, size: outSizes[t.name]!.bytes + outSizes[t.name]!.guard } })),
          { binding: 1 + io.inputs.length + io.outputs.length, resource: { buffer: scratch, size: bufferBytes(Math.max(4, scratchWords) * 4) } },
        ];
        const bindGroup = r.h.device.createBindGroup({ layout: layout.bindGroupLayout, entries, label: `${task} bindings` });
        const dispatches: Dispatch[] = [];
        for (let i = 0; i < launch.passes.length; i++) dispatches.push({ pipeline: pipelines[i]!, bindGroup, workgroups: grid(task, launch.passes[i]!, sizes, info) });
        const what = `${task} (${[...new Set(launch.passes.map((p) => p.file))].join(', ')})`;
        const poison = [...Object.values(outs), scratch];
        try {
          // A CPU adapter compiles a pipeline when it first runs: compiled first, with more time
          // (none of the kernel's code runs then), its first run has the usual watchdog.
          if (r.h.fallback && pipelines.some((p) => !r.compiled.has(p))) {
            await r.runner.compile({ dispatches, poison, what, watchdogMs: w.watchdog_ms * 4 });
            for (const p of pipelines) r.compiled.add(p);
          }
          ({ ms, clock, warmRatio } = await r.runner.run({ dispatches, poison, what, watchdogMs: w.watchdog_ms }));
        } finally {
          uniform.destroy();
        }
      }
      const out = await readOutputs(r, w, family, io, outs, outSizes);
      out.clock = clock;
      if (warmRatio !== undefined) out.warm_ratio = warmRatio;
      if (a.limits) out.limits = { ...a.limits } as unknown as Value;
      out[DEVICE_DURATION_KEY] = ms;
      return out;
    },
  };
}

// ---- library implementations (the harness's named baselines) ----------------------------------

async function startLibrary(r: Resources, name: string): Promise<LibraryRunner> {
  if (name !== 'tfjs-webgpu') throw new BadOutputError(`unknown library implementation '${name}' (known: tfjs-webgpu)`);
  const { tfjsWebgpuRunner } = await import('./baselines/tfjs-runner.ts');
  return tfjsWebgpuRunner(r.h);
}

export default defineChild({
  runtime: 'none',
  async setup({ backend }) {
    const h = await openGpu(adapterPolicyFor(backend));
    const runner = await GpuRunner.create(h);
    const resources: Resources = { h, runner, pipelines: new PipelineCache(h), layouts: new Map(), inputs: new Map(), buffers: new Map(), limits: null, library: null, compiled: new WeakSet() };
    return { resources, device: h.record };
  },
  tasks: Object.fromEntries(TASKS.map((t) => [t, kernelTask(t)])),
});

