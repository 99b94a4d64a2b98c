// Running kernels and measuring them: buffers, a uniform of sizes, bind-group layouts, outputs
// poisoned with NaN before every run, dispatches timed with GPU timestamps (host timing, flagged,
// where the adapter has no timestamp-query), validation and out-of-memory errors caught with
// error scopes, readback, seeded fills, and a scan of an output for values that are not finite
// plus a gather of sampled elements (to check outputs too large to bring back whole).
import { KernelError, shortGpuMessage } from './compile.ts';
import { settle, takeUncapturedErrors, type GpuHandle } from './device.ts';
import { checkFillSpec, fillKey, FILL_WGSL, POISON_BITS, type FillSpec } from './fill.ts';

export type BindingKind = 'uniform' | 'read-only-storage' | 'storage';

export interface UniformField {
  name: string;
  type: 'u32' | 'i32' | 'f32';
  value: number;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** The bytes of a uniform struct of 4-byte scalars, padded to 16 bytes. */
export function uniformBytes(fields: UniformField[]): ArrayBuffer {
  const buf = new ArrayBuffer(roundUp(Math.max(4, fields.length * 4), 16));
  const dv = new DataView(buf);
  fields.forEach((f, i) => {
    if (f.type === 'f32') dv.setFloat32(i * 4, f.value, true);
    else if (f.type === 'i32') dv.setInt32(i * 4, f.value, true);
    else dv.setUint32(i * 4, f.value >>> 0, true);
  });
  return buf;
}

/** Buffer sizes are rounded up to 16 bytes (so any buffer can be read as array<vec4<f32>>). */
export function bufferBytes(bytes: number): number {
  return roundUp(Math.max(16, bytes), 16);
}

export const STORAGE_USAGE = 0x80 /* STORAGE */ | 0x4 /* COPY_SRC */ | 0x8; /* COPY_DST */

export function storageBuffer(h: GpuHandle, bytes: number, label: string): GPUBuffer {
  const max = Math.min(h.limits.maxBufferSize, h.limits.maxStorageBufferBindingSize);
  if (bytes > max)
    throw new KernelError(`${label}: ${bytes} bytes is more than this device can bind (${max} bytes, maxStorageBufferBindingSize)`);
  return h.device.createBuffer({ size: bufferBytes(bytes), usage: STORAGE_USAGE, label });
}

export function uniformBuffer(h: GpuHandle, fields: UniformField[], label: string): GPUBuffer {
  const bytes = uniformBytes(fields);
  const buf = h.device.createBuffer({ size: bytes.byteLength, usage: 0x40 /* UNIFORM */ | 0x8 /* COPY_DST */, label });
  h.device.queue.writeBuffer(buf, 0, bytes);
  return buf;
}

export interface Layout {
  bindGroupLayout: GPUBindGroupLayout;
  pipelineLayout: GPUPipelineLayout;
  /** Identifies the layout in pipeline caches. */
  key: string;
}

/** An explicit layout for group 0: binding i has kind kinds[i], visible to compute. */
export function computeLayout(h: GpuHandle, kinds: BindingKind[], label: string): Layout {
  const bindGroupLayout = h.device.createBindGroupLayout({
    label,
    entries: kinds.map((k, i) => ({ binding: i, visibility: 4 /* COMPUTE */, buffer: { type: k } })),
  });
  const pipelineLayout = h.device.createPipelineLayout({ label, bindGroupLayouts: [bindGroupLayout] });
  return { bindGroupLayout, pipelineLayout, key: `${label}:${kinds.join(',')}` };
}

export interface Dispatch {
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
}

export interface RunResult {
  /** Time of the dispatches: from GPU timestamps, or the host's clock around submit → done. */
  ms: number;
  clock: 'gpu-timestamp' | 'host';
  /**
   * The clock gauge: the time per dispatch of the warm-up just before the run over the fastest
   * seen in this process (1 at the best clock seen; 1.3 means the GPU ran its warm-up 30% slower,
   * a clock below its best). Absent when the warm-up is off or was not timed.
   */
  warmRatio?: number;
}

// Arithmetic run in the same submission right before every timed pass (its time is not counted:
// the pass's first timestamp follows it), for about WARM_TARGET_MS. Between two timed runs the
// harness checks the last result on the CPU, so the GPU is busy a small part of the time, and an
// NVIDIA driver then lowers the SM clock to its idle value (345 MHz on an H200, from 1980) within
// a few seconds: measured on an H200 with nvidia-smi, 2026-11-27, every kernel after the first few
// seconds of a process ran at the idle clock, memory-bound ones 2-4x slower. A warm-up of about a
// millisecond did not prevent it; about 30 ms before every run kept the clock at 1980 MHz for the
// whole process (docs/gpu-results.md). So every implementation is timed at the clock a busy GPU
// holds, as back-to-back benchmarks are. The warm-up's own length is timed too (two more
// timestamps), and the number of its dispatches is set from it for the next run, so it lasts
// about WARM_TARGET_MS on any GPU and at any clock.
export const WARM_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  var a = vec4f(f32(gid.x) * 1e-9);
  for (var i = 0u; i < 4096u; i++) { a = fma(a, vec4f(0.9999999), vec4f(1e-7)); }
  if (a.x == 12345.0) { y[0] = a.y; }
}
`;
/** Workgroups of one warm-up dispatch: about 1.5 ms on an H100 or H200 at full clock. */
export const WARM_GROUPS = 8192;
const WARM_TARGET_MS = 30;
const WARM_MAX_DISPATCHES = 64;

// The warm-up of one run keeps a clock up, but does not bring it back up: after a few seconds
// with nothing to do (the CPU generating a case's inputs and the oracle's answer), the clock has
// dropped, and it takes about half a second of work to return (H200, 2026-11-27: a case's first
// runs were up to 3.8x slower than its median). So after RAMP_AFTER_IDLE_MS without a run, warm-up
// passes are timed on their own, before the run, until the clock is steady (clockSteady), for at
// most RAMP_MAX_MS. The warm-up's time per dispatch is the gauge: the same arithmetic each time.
// The clock starts to fall after about half a second without work, and under load takes up to a
// second to climb back from its idle value (H200, nvidia-smi every 200 ms, 2026-11-27): with the
// gauge after 1 s of idleness and for at most 1.5 s, the timed runs of a 4096^3 matmul (a few
// hundred ms apart, while the CPU checks each result) still met a clock at a third of its best,
// and the reference's median was 5.4 ms against 4.2 ms at full clock.
const RAMP_AFTER_IDLE_MS = 250;
const RAMP_MAX_MS = 3000;

/**
 * Whether the clock looks steady from the warm-ups timed so far (time per dispatch, oldest
 * first) and the fastest seen in this process: the last two agree within 3% (it is no longer
 * rising) and the last is within 10% of the fastest (it is not stuck low).
 */
export function clockSteady(perDispatchMs: number[], bestMs: number): boolean {
  const n = perDispatchMs.length;
  if (n < 2) return false;
  const last = perDispatchMs[n - 1]!;
  const prev = perDispatchMs[n - 2]!;
  return last >= prev * 0.97 && last <= bestMs * 1.1;
}

/** How the runner warms the GPU up; the defaults are for real GPUs (tests shrink them). */
export interface WarmOptions {
  /** Workgroups of one warm-up dispatch. */
  groups: number;
  /** Warm up on a CPU adapter too (normally not: it has no clock to hold, and it is slow). */
  onFallback: boolean;
  rampAfterIdleMs: number;
  rampMaxMs: number;
}

const DEFAULT_WARM: WarmOptions = { groups: WARM_GROUPS, onFallback: false, rampAfterIdleMs: RAMP_AFTER_IDLE_MS, rampMaxMs: RAMP_MAX_MS };

/** How many warm-up dispatches last about WARM_TARGET_MS, from the last warm-up's length. */
export function warmDispatches(lastDispatches: number, lastMs: number): number {
  if (!(lastMs > 0) || !Number.isFinite(lastMs)) return lastDispatches;
  const each = lastMs / lastDispatches;
  return Math.max(1, Math.min(WARM_MAX_DISPATCHES, Math.ceil(WARM_TARGET_MS / each)));
}

const POISON_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> y: array<u32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = arrayLength(&y);
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < n; i += stride) { y[i] = ${POISON_BITS}u; }
}
`;

const SCAN_WGSL = /* wgsl */ `
struct P { n: u32, count: u32, g0: u32, g1: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> data: array<u32>;
@group(0) @binding(2) var<storage, read> idx: array<u32>;
// non-finite: count, first; never written: count, first; written in [g0, g1): count, first
@group(0) @binding(3) var<storage, read_write> res: array<atomic<u32>, 6>;
@group(0) @binding(4) var<storage, read_write> samples: array<u32>;
var<workgroup> wcount: atomic<u32>;
var<workgroup> wfirst: atomic<u32>;
var<workgroup> pcount: atomic<u32>;
var<workgroup> pfirst: atomic<u32>;
var<workgroup> gcount: atomic<u32>;
var<workgroup> gfirst: atomic<u32>;

@compute @workgroup_size(256)
fn scan(@builtin(global_invocation_id) gid: vec3u, @builtin(local_invocation_index) li: u32, @builtin(num_workgroups) nwg: vec3u) {
  if (li == 0u) {
    atomicStore(&wcount, 0u); atomicStore(&wfirst, 0xffffffffu);
    atomicStore(&pcount, 0u); atomicStore(&pfirst, 0xffffffffu);
    atomicStore(&gcount, 0u); atomicStore(&gfirst, 0xffffffffu);
  }
  workgroupBarrier();
  let stride = nwg.x * 256u;
  var c = 0u;
  var f = 0xffffffffu;
  var pc = 0u;
  var pf = 0xffffffffu;
  for (var i = gid.x; i < p.n; i += stride) {
    let bits = data[i];
    if ((bits & 0x7f800000u) == 0x7f800000u) { c += 1u; f = min(f, i); }
    if (bits == ${POISON_BITS}u) { pc += 1u; pf = min(pf, i); }
  }
  var gc = 0u;
  var gf = 0xffffffffu;
  for (var i = p.g0 + gid.x; i < p.g1; i += stride) {
    if (data[i] != ${POISON_BITS}u) { gc += 1u; gf = min(gf, i); }
  }
  if (c > 0u) { atomicAdd(&wcount, c); atomicMin(&wfirst, f); }
  if (pc > 0u) { atomicAdd(&pcount, pc); atomicMin(&pfirst, pf); }
  if (gc > 0u) { atomicAdd(&gcount, gc); atomicMin(&gfirst, gf); }
  workgroupBarrier();
  if (li == 0u) {
    let wc = atomicLoad(&wcount);
    if (wc > 0u) { atomicAdd(&res[0], wc); atomicMin(&res[1], atomicLoad(&wfirst)); }
    let wp = atomicLoad(&pcount);
    if (wp > 0u) { atomicAdd(&res[2], wp); atomicMin(&res[3], atomicLoad(&pfirst)); }
    let wg = atomicLoad(&gcount);
    if (wg > 0u) { atomicAdd(&res[4], wg); atomicMin(&res[5], atomicLoad(&gfirst)); }
  }
}

@compute @workgroup_size(256)
fn gather(@builtin(global_invocation_id) gid: vec3u) {
  if (gid.x < p.count) { samples[gid.x] = data[idx[gid.x]]; }
}
`;

/** Workgroups for a grid-stride kernel of 256 threads over n elements. */
function strideGrid(h: GpuHandle, n: number): number {
  return Math.max(1, Math.min(Math.ceil(n / 256), h.limits.maxComputeWorkgroupsPerDimension, h.fallback ? 256 : 16384));
}

/**
 * The harness's own kernels and buffers around the submission's: one per device. Every wait on
 * the GPU goes through the watchdog (`settle`).
 */
export class GpuRunner {
  private poisonPipeline!: GPUComputePipeline;
  private fillPipeline!: GPUComputePipeline;
  private scanPipeline!: GPUComputePipeline;
  private gatherPipeline!: GPUComputePipeline;
  private querySet: GPUQuerySet | null = null;
  private queryResolve: GPUBuffer | null = null;
  private queryRead: GPUBuffer | null = null;
  private staging: GPUBuffer | null = null;
  /** Indirect dispatch arguments (0, 0, 0): an empty dispatch, for compile(). */
  private emptyGrid: GPUBuffer | null = null;
  private poisonGroups = new WeakMap<GPUBuffer, GPUBindGroup>();
  private warm: { pipeline: GPUComputePipeline; group: GPUBindGroup } | null = null;
  /** Warm-up dispatches for the next timed run (see WARM_TARGET_MS). */
  private warmCount = 1;
  private warmBuffer: GPUBuffer | null = null;
  /** The fastest warm-up dispatch seen, in ms: the clock gauge's full-clock mark. */
  private bestWarmMs = Infinity;
  /** When the last run ended (performance.now()). */
  private lastRunEnd = -Infinity;
  /** Warm-ups timed on their own to bring the clock back up (see RAMP_AFTER_IDLE_MS). */
  rampChecks = 0;

  private constructor(
    readonly h: GpuHandle,
    private readonly warmOpts: WarmOptions,
  ) {}

  static async create(h: GpuHandle, warm: Partial<WarmOptions> = {}): Promise<GpuRunner> {
    const r = new GpuRunner(h, { ...DEFAULT_WARM, ...warm });
    const d = h.device;
    const mk = (code: string, label: string, entryPoint = 'main') =>
      d.createComputePipeline({ label, layout: 'auto', compute: { module: d.createShaderModule({ code, label }), entryPoint } });
    d.pushErrorScope('validation');
    r.poisonPipeline = mk(POISON_WGSL, 'mlsys-poison');
    if ((!h.fallback || r.warmOpts.onFallback) && h.timestamps) {
      const warm = mk(WARM_WGSL, 'mlsys-warm');
      r.warmBuffer = d.createBuffer({ size: 16, usage: STORAGE_USAGE, label: 'mlsys-warm' });
      r.warm = { pipeline: warm, group: d.createBindGroup({ layout: warm.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: r.warmBuffer } }] }) };
    }
    r.fillPipeline = mk(FILL_WGSL, 'mlsys-fill');
    const scan = d.createShaderModule({ code: SCAN_WGSL, label: 'mlsys-scan' });
    r.scanPipeline = d.createComputePipeline({ label: 'mlsys-scan', layout: 'auto', compute: { module: scan, entryPoint: 'scan' } });
    r.gatherPipeline = d.createComputePipeline({ label: 'mlsys-gather', layout: 'auto', compute: { module: scan, entryPoint: 'gather' } });
    const err = await d.popErrorScope();
    if (err) throw new Error(`internal: the harness's own kernels do not compile here: ${err.message}`);
    if (h.timestamps) {
      // 0, 1: the timed pass; 2, 3: the warm-up before it.
      r.querySet = d.createQuerySet({ type: 'timestamp', count: 4, label: 'mlsys-timestamps' });
      r.queryResolve = d.createBuffer({ size: 32, usage: 0x200 /* QUERY_RESOLVE */ | 0x4, label: 'mlsys-ts-resolve' });
      r.queryRead = d.createBuffer({ size: 32, usage: 0x1 /* MAP_READ */ | 0x8, label: 'mlsys-ts-read' });
    }
    return r;
  }

  private poisonGroup(buf: GPUBuffer): GPUBindGroup {
    let g = this.poisonGroups.get(buf);
    if (!g) {
      g = this.h.device.createBindGroup({ layout: this.poisonPipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: buf } }] });
      this.poisonGroups.set(buf, g);
    }
    return g;
  }

  private encodePoison(enc: GPUCommandEncoder, buffers: GPUBuffer[]): void {
    if (!buffers.length) return;
    const pass = enc.beginComputePass({ label: 'mlsys-poison' });
    pass.setPipeline(this.poisonPipeline);
    for (const b of buffers) {
      pass.setBindGroup(0, this.poisonGroup(b));
      pass.dispatchWorkgroups(strideGrid(this.h, b.size / 4));
    }
    pass.end();
  }

  /** The warm-up pass: `count` dispatches, timed into queries 2 and 3. */
  private encodeWarm(enc: GPUCommandEncoder, count: number): void {
    const w = enc.beginComputePass({
      label: 'mlsys-warm',
      ...(this.querySet ? { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 2, endOfPassWriteIndex: 3 } } : {}),
    });
    w.setPipeline(this.warm!.pipeline);
    w.setBindGroup(0, this.warm!.group);
    for (let i = 0; i < count; i++) w.dispatchWorkgroups(this.warmOpts.groups);
    w.end();
  }

  /** Notes a timed warm-up: the gauge's best mark, and the dispatch count for the next one. */
  private noteWarm(count: number, ms: number): number {
    this.warmCount = warmDispatches(count, ms);
    const each = ms / count;
    this.bestWarmMs = Math.min(this.bestWarmMs, each);
    return each;
  }

  /** Warm-ups on their own, each timed and read back, until the clock is steady (see RAMP_AFTER_IDLE_MS). */
  private async rampClock(what: string, watchdogMs: number): Promise<void> {
    const { device } = this.h;
    const t0 = performance.now();
    const seen: number[] = [];
    while (performance.now() - t0 < this.warmOpts.rampMaxMs) {
      const count = this.warmCount;
      const enc = device.createCommandEncoder({ label: 'mlsys-warm' });
      this.encodeWarm(enc, count);
      enc.resolveQuerySet(this.querySet!, 2, 2, this.queryResolve!, 0);
      enc.copyBufferToBuffer(this.queryResolve!, 0, this.queryRead!, 0, 16);
      device.queue.submit([enc.finish()]);
      await settle(this.h, this.queryRead!.mapAsync(1 /* READ */, 0, 16), `warming the GPU up before ${what}`, watchdogMs);
      const t = new BigUint64Array(this.queryRead!.getMappedRange(0, 16).slice(0));
      this.queryRead!.unmap();
      if (!(t[1]! > t[0]!)) return; // not timed: nothing to go by
      this.rampChecks++;
      seen.push(this.noteWarm(count, Number(t[1]! - t[0]!) / 1e6));
      if (clockSteady(seen, this.bestWarmMs)) return;
    }
  }

  /** Fills every buffer with the poison (queued: later submissions see it). */
  poison(buffers: GPUBuffer[]): void {
    if (!buffers.length) return;
    const enc = this.h.device.createCommandEncoder({ label: 'mlsys-poison' });
    this.encodePoison(enc, buffers);
    this.h.device.queue.submit([enc.finish()]);
  }

  /** Fills `buf` (its first s.n floats) from a seed: see fill.ts. */
  fill(buf: GPUBuffer, s: FillSpec): void {
    checkFillSpec(s);
    if (s.n === 0) return;
    const d = this.h.device;
    const u = uniformBuffer(
      this.h,
      [
        { name: 'n', type: 'u32', value: s.n },
        { name: 'key', type: 'u32', value: fillKey(s) },
        { name: 'kind', type: 'u32', value: s.kind === 'int' ? 1 : 0 },
        { name: 'pad', type: 'u32', value: 0 },
        { name: 'scale', type: 'f32', value: s.scale },
        { name: 'offset', type: 'f32', value: s.offset },
      ],
      'mlsys-fill-params',
    );
    const bg = d.createBindGroup({
      layout: this.fillPipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: u } },
        { binding: 1, resource: { buffer: buf } },
      ],
    });
    const enc = d.createCommandEncoder({ label: 'mlsys-fill' });
    const pass = enc.beginComputePass();
    pass.setPipeline(this.fillPipeline);
    pass.setBindGroup(0, bg);
    pass.dispatchWorkgroups(strideGrid(this.h, s.n));
    pass.end();
    d.queue.submit([enc.finish()]);
  }

  /**
   * Has the driver compile the dispatches' pipelines (and the poisoning's) without running any of
   * their code: each is dispatched with no workgroups. Mesa's CPU driver compiles a pipeline when
   * it is first dispatched, an empty dispatch included (seconds for a large kernel, with no shader
   * cache, as in a fresh sandbox); done before a pipeline's first run, it keeps the compiling out
   * of that run's watchdog, so that an endless kernel is stopped at the usual time. The empty grid
   * comes from an indirect buffer, which WebGPU does not warn about as it does for
   * dispatchWorkgroups(0). Errors are left for the run that follows, which reports them.
   */
  async compile(o: { dispatches: Dispatch[]; poison: GPUBuffer[]; what: string; watchdogMs: number }): Promise<void> {
    const { device } = this.h;
    this.emptyGrid ??= device.createBuffer({ size: 12, usage: 0x100 /* INDIRECT */, label: 'mlsys-empty-grid' }); // zero-filled
    device.pushErrorScope('validation');
    const enc = device.createCommandEncoder({ label: `compiling ${o.what}` });
    const pass = enc.beginComputePass({ label: `compiling ${o.what}` });
    const all = [...o.dispatches, ...o.poison.slice(0, 1).map((b) => ({ pipeline: this.poisonPipeline, bindGroup: this.poisonGroup(b) }))];
    for (const d of all) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroupsIndirect(this.emptyGrid, 0);
    }
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.popErrorScope();
    await settle(
      this.h,
      device.queue.onSubmittedWorkDone(),
      `compiling ${o.what}`,
      o.watchdogMs,
      'the CPU driver compiles a kernel when it first runs; none of its code ran yet: a kernel too large to compile?',
    );
  }

  /**
   * Poisons `poison` with NaN, then runs the dispatches in one compute pass, timed. Validation
   * and out-of-memory errors become KernelErrors naming `what`.
   */
  async run(o: { dispatches: Dispatch[]; poison: GPUBuffer[]; what: string; watchdogMs: number }): Promise<RunResult> {
    const { device } = this.h;
    takeUncapturedErrors(this.h);
    // Everything queued before (input fills, the poisoning) is finished before the timed
    // submission, with GPU timestamps too: whether a pass's beginning timestamp waits for the
    // passes before it depends on the backend, and nothing but the warm-up may share the timed
    // submission. (Measured on an H100 it made no difference there.)
    this.poison(o.poison);
    await settle(this.h, device.queue.onSubmittedWorkDone(), `clearing the outputs before ${o.what}`, o.watchdogMs);
    if (this.warm && this.querySet && performance.now() - this.lastRunEnd > this.warmOpts.rampAfterIdleMs) await this.rampClock(o.what, o.watchdogMs);
    device.pushErrorScope('out-of-memory');
    device.pushErrorScope('validation');
    const enc = device.createCommandEncoder({ label: o.what });
    const warmCount = this.warmCount;
    if (this.warm) this.encodeWarm(enc, warmCount);
    const pass = enc.beginComputePass({
      label: o.what,
      ...(this.querySet ? { timestampWrites: { querySet: this.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 } } : {}),
    });
    for (const d of o.dispatches) {
      pass.setPipeline(d.pipeline);
      pass.setBindGroup(0, d.bindGroup);
      pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    }
    pass.end();
    if (this.querySet) {
      const n = this.warm ? 4 : 2;
      enc.resolveQuerySet(this.querySet, 0, n, this.queryResolve!, 0);
      enc.copyBufferToBuffer(this.queryResolve!, 0, this.queryRead!, 0, 8 * n);
    }
    const t0 = performance.now();
    device.queue.submit([enc.finish()]);
    try {
      return await this.finishRun(o, t0, warmCount);
    } finally {
      this.lastRunEnd = performance.now();
    }
  }

  /** The rest of `run` after the submission: errors, then the times. */
  private async finishRun(o: { what: string; watchdogMs: number }, t0: number, warmCount: number): Promise<RunResult> {
    const { device } = this.h;
    const validation = await device.popErrorScope();
    const oom = await device.popErrorScope();
    if (validation) throw new KernelError(`${o.what}: ${shortGpuMessage(validation.message)}`);
    if (oom) throw new KernelError(`${o.what}: out of GPU memory: ${shortGpuMessage(oom.message)}`);
    if (!this.querySet) {
      await settle(this.h, device.queue.onSubmittedWorkDone(), o.what, o.watchdogMs);
      return { ms: performance.now() - t0, clock: 'host' };
    }
    await settle(this.h, this.queryRead!.mapAsync(1 /* READ */), o.what, o.watchdogMs);
    const host = performance.now() - t0;
    const t = new BigUint64Array(this.queryRead!.getMappedRange().slice(0));
    this.queryRead!.unmap();
    const warmMs = this.warm && t[3]! > t[2]! ? Number(t[3]! - t[2]!) / 1e6 : 0;
    const gauge = warmMs ? { warmRatio: this.noteWarm(warmCount, warmMs) / this.bestWarmMs } : {};
    const ns = Number(t[1]! - t[0]!);
    // Without the pass's timestamps, the host's time less the warm-up's (when it was timed).
    if (!(t[1]! > t[0]!) || !Number.isFinite(ns)) return { ms: Math.max(0, host - warmMs), clock: 'host', ...gauge };
    const late = takeUncapturedErrors(this.h);
    if (late.length) throw new KernelError(`${o.what}: ${shortGpuMessage(late[0]!)}`);
    return { ms: ns / 1e6, clock: 'gpu-timestamp', ...gauge };
  }

  private stagingFor(bytes: number): GPUBuffer {
    if (!this.staging || this.staging.size < bytes) {
      this.staging?.destroy();
      this.staging = this.h.device.createBuffer({ size: bufferBytes(bytes), usage: 0x1 /* MAP_READ */ | 0x8 /* COPY_DST */, label: 'mlsys-readback' });
    }
    return this.staging;
  }

  /** The first `count` float32 values of `buf`. */
  async readFloat32(buf: GPUBuffer, count: number, what: string, watchdogMs: number): Promise<Float32Array> {
    if (count === 0) return new Float32Array(0);
    const bytes = bufferBytes(count * 4);
    const staging = this.stagingFor(bytes);
    const enc = this.h.device.createCommandEncoder({ label: 'mlsys-readback' });
    enc.copyBufferToBuffer(buf, 0, staging, 0, bytes);
    this.h.device.queue.submit([enc.finish()]);
    await settle(this.h, staging.mapAsync(1 /* READ */, 0, bytes), what, watchdogMs);
    const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0, count * 4));
    staging.unmap();
    return out;
  }

  /**
   * Scans the first n float32 values of `buf` for values that are not finite and for the poison
   * (count and first index of each) and gathers the values at `indices`: an output too large to
   * bring back whole is still checked everywhere for NaN and, at the sampled positions, values.
   * With `guard` ([start, end) in float32 elements, past the output's end), it also counts the
   * elements there that no longer hold the poison: writes past the output's end.
   */
  async scanAndGather(
    buf: GPUBuffer,
    n: number,
    indices: Uint32Array,
    what: string,
    watchdogMs: number,
    guard: [number, number] = [0, 0],
  ): Promise<{ nonFinite: number; firstNonFinite: number; unwritten: number; firstUnwritten: number; pastEnd: number; firstPastEnd: number; samples: Float32Array }> {
    const d = this.h.device;
    const u = uniformBuffer(
      this.h,
      [
        { name: 'n', type: 'u32', value: n },
        { name: 'count', type: 'u32', value: indices.length },
        { name: 'g0', type: 'u32', value: guard[0] },
        { name: 'g1', type: 'u32', value: guard[1] },
      ],
      'mlsys-scan-params',
    );
    const idx = d.createBuffer({ size: bufferBytes(indices.length * 4), usage: STORAGE_USAGE, label: 'mlsys-scan-idx' });
    d.queue.writeBuffer(idx, 0, indices);
    const res = d.createBuffer({ size: 32, usage: STORAGE_USAGE, label: 'mlsys-scan-res' });
    d.queue.writeBuffer(res, 0, new Uint32Array([0, 0xffffffff, 0, 0xffffffff, 0, 0xffffffff, 0, 0]));
    const samples = d.createBuffer({ size: bufferBytes(indices.length * 4), usage: STORAGE_USAGE, label: 'mlsys-scan-samples' });
    const entries = [
      { binding: 0, resource: { buffer: u } },
      { binding: 1, resource: { buffer: buf } },
      { binding: 2, resource: { buffer: idx } },
      { binding: 3, resource: { buffer: res } },
      { binding: 4, resource: { buffer: samples } },
    ];
    const enc = d.createCommandEncoder({ label: 'mlsys-scan' });
    const pass = enc.beginComputePass();
    pass.setPipeline(this.scanPipeline);
    pass.setBindGroup(0, d.createBindGroup({ layout: this.scanPipeline.getBindGroupLayout(0), entries: entries.filter((e) => e.binding !== 2 && e.binding !== 4) }));
    pass.dispatchWorkgroups(strideGrid(this.h, Math.max(n, guard[1] - guard[0])));
    if (indices.length) {
      pass.setPipeline(this.gatherPipeline);
      pass.setBindGroup(0, d.createBindGroup({ layout: this.gatherPipeline.getBindGroupLayout(0), entries: entries.filter((e) => e.binding !== 3) }));
      pass.dispatchWorkgroups(Math.ceil(indices.length / 256));
    }
    pass.end();
    // One readback for both: the counters, then the samples.
    const sampleBytes = bufferBytes(indices.length * 4);
    const staging = this.stagingFor(32 + sampleBytes);
    enc.copyBufferToBuffer(res, 0, staging, 0, 32);
    if (indices.length) enc.copyBufferToBuffer(samples, 0, staging, 32, sampleBytes);
    d.queue.submit([enc.finish()]);
    await settle(this.h, staging.mapAsync(1 /* READ */, 0, 32 + sampleBytes), what, watchdogMs);
    const mapped = staging.getMappedRange(0, 32 + sampleBytes);
    const r = new Uint32Array(mapped.slice(0, 32));
    const s = new Float32Array(mapped.slice(32, 32 + indices.length * 4));
    staging.unmap();
    for (const b of [u, idx, res, samples]) b.destroy();
    return {
      nonFinite: r[0]!,
      firstNonFinite: r[0]! ? r[1]! : -1,
      unwritten: r[2]!,
      firstUnwritten: r[2]! ? r[3]! : -1,
      pastEnd: r[4]!,
      firstPastEnd: r[4]! ? r[5]! : -1,
      samples: s,
    };
  }
}
