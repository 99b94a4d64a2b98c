// The machine's limits, measured on the device in use, for roofline fractions:
//  - memory bandwidth: a vec4 copy kernel, bytes read + written / time;
//  - compute: a kernel of independent fused multiply-adds (8 vec4 chains per thread), 2 flops
//    each / time: the fp32 rate the device sustains on arithmetic alone.
// Each is the best of a few timed runs (GPU timestamps where available).
import type { GpuHandle } from './device.ts';
import { GpuRunner, storageBuffer, uniformBuffer } from './launch.ts';

const COPY_WGSL = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read_write> y: array<vec4<f32>>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u, @builtin(num_workgroups) nwg: vec3u) {
  let n = arrayLength(&y);
  let stride = nwg.x * 256u;
  for (var i = gid.x; i < n; i += stride) { y[i] = x[i]; }
}
`;

const FMA_WGSL = /* wgsl */ `
struct P { iters: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let s = f32(gid.x) * 1e-9;
  var a0 = vec4f(s, s + 1e-3, s + 2e-3, s + 3e-3);
  var a1 = a0 + 0.1; var a2 = a0 + 0.2; var a3 = a0 + 0.3;
  var a4 = a0 + 0.4; var a5 = a0 + 0.5; var a6 = a0 + 0.6; var a7 = a0 + 0.7;
  let m = vec4f(0.9999999);
  let c = vec4f(1e-7);
  for (var i = 0u; i < p.iters; i++) {
    a0 = fma(a0, m, c); a1 = fma(a1, m, c); a2 = fma(a2, m, c); a3 = fma(a3, m, c);
    a4 = fma(a4, m, c); a5 = fma(a5, m, c); a6 = fma(a6, m, c); a7 = fma(a7, m, c);
  }
  let t = (a0 + a1) + (a2 + a3) + (a4 + a5) + (a6 + a7);
  y[gid.x] = t.x + t.y + t.z + t.w;
}
`;

export interface Limits {
  /** Copy bandwidth, bytes read + written per second, in GB/s (1e9). */
  copy_gbps: number;
  copy_bytes: number;
  /** Sustained fp32 FMA rate in GFLOP/s (1e9), 2 flops per FMA. */
  fma_gflops: number;
  clock: string;
}

export async function measureLimits(h: GpuHandle, runner: GpuRunner, watchdogMs = 60000): Promise<Limits> {
  const d = h.device;
  const mk = (code: string, label: string) =>
    d.createComputePipeline({ label, layout: 'auto', compute: { module: d.createShaderModule({ code, label }), entryPoint: 'main' } });
  const copy = mk(COPY_WGSL, 'mlsys-probe-copy');
  const fma = mk(FMA_WGSL, 'mlsys-probe-fma');
  const reps = h.fallback ? 3 : 7;

  // Bandwidth: 256 MiB on a GPU (far beyond its caches), 8 MiB on a CPU adapter.
  const bytes = Math.min(h.fallback ? 8 * 2 ** 20 : 256 * 2 ** 20, Math.floor(h.limits.maxStorageBufferBindingSize / 16) * 16);
  const x = storageBuffer(h, bytes, 'mlsys-probe-x');
  const y = storageBuffer(h, bytes, 'mlsys-probe-y');
  runner.fill(x, { seed: 1, kind: 'uniform', scale: 1, offset: 0, n: bytes / 4 });
  const copyGroup = d.createBindGroup({ layout: copy.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: x } }, { binding: 1, resource: { buffer: y } }] });
  const grid = Math.min(h.limits.maxComputeWorkgroupsPerDimension, h.fallback ? 1024 : 8192);
  let best = Infinity;
  let clock = 'gpu-timestamp';
  for (let i = 0; i < reps + 1; i++) {
    const r = await runner.run({ dispatches: [{ pipeline: copy, bindGroup: copyGroup, workgroups: [grid, 1, 1] }], poison: [], what: 'the bandwidth probe', watchdogMs });
    clock = r.clock;
    if (i > 0) best = Math.min(best, r.ms); // the first run warms up
  }
  const copyGbps = (2 * bytes) / (best * 1e6);
  x.destroy();
  y.destroy();

  // Compute: enough threads to fill a large GPU several times over.
  const groups = h.fallback ? 32 : 4096;
  const iters = h.fallback ? 256 : 2048;
  const out = storageBuffer(h, groups * 256 * 4, 'mlsys-probe-fma-out');
  const u = uniformBuffer(h, [{ name: 'iters', type: 'u32', value: iters }], 'mlsys-probe-fma-params');
  const fmaGroup = d.createBindGroup({ layout: fma.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: u } }, { binding: 1, resource: { buffer: out } }] });
  best = Infinity;
  for (let i = 0; i < reps + 1; i++) {
    const r = await runner.run({ dispatches: [{ pipeline: fma, bindGroup: fmaGroup, workgroups: [groups, 1, 1] }], poison: [], what: 'the compute probe', watchdogMs });
    if (i > 0) best = Math.min(best, r.ms);
  }
  const flops = groups * 256 * iters * 8 * 4 * 2;
  out.destroy();
  u.destroy();
  return { copy_gbps: copyGbps, copy_bytes: bytes, fma_gflops: flops / (best * 1e6), clock };
}
