// The tensor runtime the engine offers any project: tfjs with the best backend this machine has.
// Order: tensorflow (tfjs-node-gpu, tfjs-node) -> webgpu (Dawn; a real adapter, the CPU fallback
// only when asked) -> wasm -> cpu; or exactly the backend asked for.
import * as tfns from '@tensorflow/tfjs';

type TF = typeof tfns;

export interface TensorRuntime {
  tf: TF;
  backend: string;
  /** What the backend runs on (adapter, CPU), for the results' device record. */
  device: Record<string, string | boolean | number>;
  /** Tensors and bytes the engine holds now. */
  memory(): { tensors: number; bytes: number };
  /** Runs fn and returns its result with the peak engine bytes above those held at the start. */
  peakBytes<T>(fn: () => Promise<T>): Promise<{ result: T; peakBytes: number }>;
}

export const BACKENDS = ['tensorflow', 'webgpu', 'webgpu-fallback', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKENDS)[number] | 'auto';

/** Kept reachable for the life of the process: Dawn crashes if its instance is collected. */
export const keepAlive: { gpu?: unknown; adapter?: unknown } = {};

async function tryTensorflow(tf: TF): Promise<Record<string, string> | null> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) return { package: pkg };
    } catch {
      /* not installed or its native library does not load */
    }
  }
  return null;
}

let webgpuWhyNot = 'the webgpu package or a Vulkan driver is missing';

async function tryWebgpu(tf: TF, allowFallback: boolean): Promise<Record<string, string | boolean> | null> {
  try {
    const webgpu = (await import('webgpu')) as unknown as {
      create(flags: string[]): GPU;
      globals: Record<string, unknown>;
    };
    Object.assign(globalThis, webgpu.globals);
    const gpu = webgpu.create(['disable-dawn-features=timestamp_quantization']);
    keepAlive.gpu = gpu;
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) {
      webgpuWhyNot = 'no WebGPU adapter (no Vulkan driver)';
      return null;
    }
    const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
    const fallback = Boolean(info.isFallbackAdapter ?? (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter);
    if (fallback && !allowFallback) {
      webgpuWhyNot = `only a CPU fallback adapter (${info.description}); ask for it with --backend webgpu-fallback`;
      return null;
    }
    keepAlive.adapter = adapter;
    // tfjs-backend-webgpu registers at import and reads navigator.gpu then.
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) return null;
    return {
      vendor: info.vendor,
      architecture: info.architecture,
      adapter: info.device || info.description,
      description: info.description,
      fallback,
    };
  } catch {
    return null;
  }
}

async function tryWasm(tf: TF): Promise<Record<string, string> | null> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    if (await tf.setBackend('wasm')) return {};
  } catch {
    /* no wasm */
  }
  return null;
}

export async function startTensorRuntime(request: BackendName): Promise<TensorRuntime> {
  const tf = tfns;
  const order: Exclude<BackendName, 'auto'>[] =
    request === 'auto' ? ['tensorflow', 'webgpu', 'wasm', 'cpu'] : [request];
  let chosen: string | null = null;
  let device: Record<string, string | boolean | number> = {};
  for (const b of order) {
    let d: Record<string, string | boolean> | null = null;
    if (b === 'tensorflow') d = await tryTensorflow(tf);
    else if (b === 'webgpu') d = await tryWebgpu(tf, false);
    else if (b === 'webgpu-fallback') d = await tryWebgpu(tf, true);
    else if (b === 'wasm') d = await tryWasm(tf);
    else if (b === 'cpu') d = (await tf.setBackend('cpu')) ? {} : null;
    if (d) {
      chosen = b === 'webgpu-fallback' ? 'webgpu' : b;
      device = d;
      break;
    }
  }
  if (!chosen) {
    const why = request === 'webgpu' || request === 'webgpu-fallback' ? `: ${webgpuWhyNot}` : '';
    throw new Error(`tensor backend '${request}' is not available on this machine${why}`);
  }
  await tf.ready();
  return {
    tf,
    backend: chosen,
    device: { ...device, tfjs: tf.version.tfjs },
    memory: () => {
      const m = tf.memory();
      return { tensors: m.numTensors, bytes: m.numBytes };
    },
    async peakBytes<T>(fn: () => Promise<T>) {
      const start = tf.memory().numBytes;
      let result: T | undefined;
      const info = await tf.profile(async () => {
        result = await fn();
        return [] as unknown as tfns.Tensor;
      });
      return { result: result as T, peakBytes: Math.max(0, info.peakBytes - start) };
    },
  };
}
