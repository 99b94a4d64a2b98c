// The GPU runtime the engine offers any project, on the submission's side of the process
// boundary: one WebGPU device per process (Dawn, through the `webgpu` package), opened once and
// kept reachable for the life of the process (Dawn crashes when its instance is collected while
// a device is in use), with device-loss detection, uncaptured-error capture, and a watchdog for
// GPU work that never finishes.
//
// A lost device or GPU work past its watchdog cannot be recovered in the same process: the
// process is ended through an uncaught error, which the driver reports as a failure of the call
// in flight; the harness then starts the next case on a fresh process and a fresh device.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

export type AdapterPolicy =
  /** A real GPU only; a CPU fallback adapter (Mesa's lavapipe) is refused. */
  | 'gpu'
  /** A real GPU when there is one, else the CPU fallback adapter (recorded as such). */
  | 'gpu-or-fallback'
  /** The CPU fallback adapter, even where a GPU exists (to check the CPU path). */
  | 'fallback';

/** How a `--backend` name maps to an adapter policy, for projects whose work is WebGPU itself. */
export function adapterPolicyFor(backend: string): AdapterPolicy {
  if (backend === 'webgpu') return 'gpu';
  if (backend === 'webgpu-fallback' || backend === 'cpu') return 'fallback';
  if (backend === 'auto') return 'gpu-or-fallback';
  throw new Error(`the backend '${backend}' does not run WebGPU kernels: use auto, webgpu or webgpu-fallback`);
}

export type DeviceRecord = Record<string, string | number | boolean>;

export interface GpuHandle {
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  /** The adapter, for the results' device record. */
  record: DeviceRecord;
  fallback: boolean;
  /** Whether GPU timestamps (timestamp-query) are available; else host timing is used. */
  timestamps: boolean;
  features: Set<string>;
  limits: GPUSupportedLimits;
  /** Set when the device is lost. */
  lost: { reason: string; message: string } | null;
  /** Errors no error scope caught, oldest first (taken by takeUncapturedErrors). */
  uncaptured: string[];
}

/** Kept reachable for the life of the process: exported and written once, never cleared. */
export const keepAlive: { gpu?: GPU; handle?: GpuHandle; webgpu?: unknown } = {};

/** The limits a compute project needs, raised to what the adapter offers. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxBindingsPerBindGroup',
] as const;

/** Features turned on when the adapter has them (kernels opt in with `enable ...;` in WGSL). */
const OPTIONAL_FEATURES = ['timestamp-query', 'subgroups', 'shader-f16'];

export class GpuUnavailableError extends Error {
  override name = 'GpuUnavailableError';
}

/** The errors that end the process (see the header). */
export class GpuFatalError extends Error {
  override name = 'GpuFatalError';
}

interface WebgpuModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

function webgpuVersion(): string {
  try {
    const require = createRequire(import.meta.url);
    return String((JSON.parse(readFileSync(require.resolve('webgpu/package.json'), 'utf8')) as { version?: string }).version ?? '');
  } catch {
    return '';
  }
}

/**
 * Opens the process's one device (a second call returns the same handle). Throws
 * GpuUnavailableError when no adapter fits the policy: a machine fault, not the submission's.
 */
export async function openGpu(policy: AdapterPolicy): Promise<GpuHandle> {
  if (keepAlive.handle) return keepAlive.handle;
  let webgpu: WebgpuModule;
  try {
    webgpu = (await import('webgpu')) as unknown as WebgpuModule;
  } catch (e) {
    throw new GpuUnavailableError(`the webgpu package (Dawn) does not load here: ${e instanceof Error ? e.message : String(e)}`);
  }
  keepAlive.webgpu = webgpu;
  Object.assign(globalThis, webgpu.globals);
  // Timestamps are quantized by default (a fingerprinting defence for browsers); kernels are
  // timed with them, so they are taken at full resolution.
  const gpu = webgpu.create(['disable-dawn-features=timestamp_quantization']);
  keepAlive.gpu = gpu;

  let adapter = policy === 'fallback' ? await gpu.requestAdapter({ forceFallbackAdapter: true }) : await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter && policy === 'fallback') adapter = await gpu.requestAdapter();
  if (!adapter)
    throw new GpuUnavailableError(
      process.platform === 'linux'
        ? 'no WebGPU adapter: no Vulkan driver for a GPU, and no CPU Vulkan driver (Debian 12: apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1; `mlsys doctor` says more)'
        : `no WebGPU adapter (Dawn uses ${process.platform === 'darwin' ? 'Metal' : 'Direct3D 12'} here; \`mlsys doctor\` says more)`,
    );
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean; subgroupMinSize?: number; subgroupMaxSize?: number };
  const fallback = Boolean(info.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter ?? info.architecture === 'software');
  if (fallback && policy === 'gpu')
    throw new GpuUnavailableError(
      `only a CPU fallback adapter is available (${info.description || info.vendor}); ask for it with --backend webgpu-fallback, or run on a machine with a GPU`,
    );

  const features = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const k of RAISED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits, label: 'mlsys' });
  const handle: GpuHandle = {
    gpu,
    adapter,
    device,
    fallback,
    timestamps: device.features.has('timestamp-query'),
    features: new Set([...device.features].map(String)),
    limits: device.limits,
    lost: null,
    uncaptured: [],
    record: {},
  };
  handle.record = {
    api: 'webgpu',
    vendor: info.vendor || 'unknown',
    architecture: info.architecture || 'unknown',
    adapter: info.device || info.description || 'unknown',
    description: info.description || '',
    fallback,
    timestamps: handle.timestamps,
    features: [...handle.features].sort().join(' '),
    max_storage_binding_bytes: device.limits.maxStorageBufferBindingSize,
    max_workgroup_storage_bytes: device.limits.maxComputeWorkgroupStorageSize,
    max_invocations_per_workgroup: device.limits.maxComputeInvocationsPerWorkgroup,
  };
  if (typeof info.subgroupMinSize === 'number') handle.record.subgroup_min_size = info.subgroupMinSize;
  if (typeof info.subgroupMaxSize === 'number') handle.record.subgroup_max_size = info.subgroupMaxSize;
  const v = webgpuVersion();
  if (v) handle.record.webgpu_package = v;
  if (fallback)
    handle.record.warning =
      'CPU fallback adapter (Mesa lavapipe): correct results, but timings say nothing about a GPU; grading measures on a GPU node';

  device.addEventListener('uncapturederror', (ev) => {
    const e = (ev as GPUUncapturedErrorEvent).error;
    handle.uncaptured.push(e.message);
    if (handle.uncaptured.length > 50) handle.uncaptured.shift();
  });
  void device.lost.then((l) => {
    handle.lost = { reason: String(l.reason), message: l.message };
  });
  keepAlive.handle = handle;
  return handle;
}

/** Errors no scope caught since the last call (and forgets them). */
export function takeUncapturedErrors(h: GpuHandle): string[] {
  return h.uncaptured.splice(0, h.uncaptured.length);
}

/**
 * Ends the process with this error: thrown outside any promise chain, so that the driver
 * reports it as the failure of the call in flight and the harness moves on to a fresh process.
 * Returns a promise that never settles, for the caller to await.
 */
export function endProcess(err: Error): Promise<never> {
  setImmediate(() => {
    throw err;
  });
  return new Promise<never>(() => {});
}

const ENDLESS_HINT = 'an endless loop in a kernel, or one far too slow for this size';

/**
 * Waits for GPU work (a map, a submitted-work promise) with a watchdog: past `ms`, or when the
 * device is lost, the process is ended with a message naming `what` (and `hint`, the likely cause
 * of a timeout).
 */
export async function settle<T>(h: GpuHandle, p: Promise<T>, what: string, ms: number, hint = ENDLESS_HINT): Promise<T> {
  if (h.lost) return endProcess(lostError(h, what));
  let timer: NodeJS.Timeout | undefined;
  let poll: NodeJS.Timeout | undefined;
  const outcome = await new Promise<{ ok: true; v: T } | { ok: false; why: 'timeout' | 'lost' | 'error'; e?: unknown }>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, why: 'timeout' }), ms);
    poll = setInterval(() => {
      if (h.lost) resolve({ ok: false, why: 'lost' });
    }, 50);
    p.then(
      (v) => resolve({ ok: true, v }),
      (e) => resolve({ ok: false, why: h.lost ? 'lost' : 'error', e }),
    );
  });
  clearTimeout(timer);
  clearInterval(poll);
  if (outcome.ok) return outcome.v;
  if (outcome.why === 'lost') return endProcess(lostError(h, what));
  if (outcome.why === 'timeout')
    return endProcess(
      new GpuFatalError(
        `the GPU did not finish ${what} within ${(ms / 1000).toFixed(1)} s (${hint}). ` +
          'A device with stuck work cannot be reused, so this process was stopped; the next case starts on a fresh process and device.',
      ),
    );
  throw outcome.e instanceof Error ? outcome.e : new Error(String(outcome.e));
}

function lostError(h: GpuHandle, what: string): GpuFatalError {
  return new GpuFatalError(
    `the GPU device was lost during ${what} (${h.lost?.reason ?? 'unknown'}: ${h.lost?.message || 'no message'}); ` +
      'usually a kernel that ran too long or accessed memory it should not. The next case starts on a fresh process and device.',
  );
}
