// The library implementation behind the `tfjs-webgpu` baseline: tfjs-backend-webgpu's ops on the
// process's own device (one device per process), reading the harness's input buffers without a
// copy, timed with tfjs's own timestamp queries (the kernels alone, summed over the ops).
// Attention is the unfused composition: matMul, scale and mask, softmax, matMul.
import type * as TF from '@tensorflow/tfjs';
import type { GpuHandle } from '../../../harness/child/gpu/device.ts';
import { settle } from '../../../harness/child/gpu/device.ts';
import { formatBytes } from '../../../harness/bytes.ts';
import type { AttentionDims, Family, KernelIO, LayernormDims, WireInputs } from '../spec.ts';
import { attentionScale } from '../spec.ts';

export interface LibraryRunner {
  run(family: Family, w: WireInputs, io: KernelIO, inputs: Record<string, GPUBuffer>, outs: Record<string, GPUBuffer>): Promise<{ ms: number; clock: string }>;
}

export async function tfjsWebgpuRunner(h: GpuHandle): Promise<LibraryRunner> {
  // tfjs-backend-webgpu reads navigator.gpu when it is imported.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: h.gpu }, configurable: true, writable: true });
  const tf = (await import('@tensorflow/tfjs')) as typeof TF;
  const wg = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as { WebGPUBackend: new (d: GPUDevice, info?: GPUAdapterInfo) => TF.KernelBackend };
  tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new wg.WebGPUBackend(h.device, h.adapter.info), 10);
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs-backend-webgpu did not start on the harness device');
  await tf.ready();

  const op = (family: Family, w: WireInputs, t: Record<string, TF.Tensor>): TF.Tensor => {
    switch (family) {
      case 'matmul':
        return tf.matMul(t.a as TF.Tensor2D, t.b as TF.Tensor2D);
      case 'softmax':
        return tf.softmax(t.x!);
      case 'layernorm': {
        const { mean, variance } = tf.moments(t.x!, 1, true);
        return t.x!.sub(mean).mul(tf.rsqrt(variance.add((w.dims as LayernormDims).eps))).mul(t.gamma!).add(t.beta!);
      }
      case 'reduce_sum':
        return tf.sum(t.x!, 1);
      case 'transpose':
        return tf.transpose(t.x!);
      case 'attention_fwd': {
        const d = w.dims as AttentionDims;
        let s = tf.matMul(t.q as TF.Tensor4D, t.k as TF.Tensor4D, false, true).mul(Math.fround(attentionScale(d.D)));
        if (d.causal) {
          const keep = tf.linalg.bandPart(tf.ones([d.Sq, d.Sk]), -1, d.Sk - d.Sq).cast('bool');
          s = tf.where(keep, s, tf.fill(s.shape, -Infinity));
        }
        return tf.matMul(tf.softmax(s), t.v as TF.Tensor4D);
      }
    }
  };

  return {
    async run(family, w, io, inputs, outs) {
      if (family === 'attention_fwd') {
        // The unfused composition holds all the scores in one tensor. Past what a storage binding
        // may hold, Dawn refuses its bind groups and tfjs returns a wrong result without an error
        // (8 GiB at B8 H16 S4096 on an H100 and an H200): say why instead.
        const d = w.dims as AttentionDims;
        const scores = d.B * d.H * d.Sq * d.Sk * 4;
        const max = h.limits.maxStorageBufferBindingSize;
        if (scores > max)
          throw new Error(`tfjs-webgpu's unfused attention holds its scores (B·H·Sq·Sk floats, ${formatBytes(scores)}) in one buffer, over the ${formatBytes(max)} this device can bind: not run at this size`);
      }
      const t: Record<string, TF.Tensor> = {};
      for (const d of io.inputs) t[d.name] = tf.tensor({ buffer: inputs[d.name]!, zeroCopy: true } as unknown as TF.TensorLike, d.shape, 'float32');
      await settle(h, h.device.queue.onSubmittedWorkDone(), 'tfjs-webgpu (before timing)', w.watchdog_ms);
      let y: TF.Tensor | null = null;
      const t0 = performance.now();
      const info = await tf.time(() => {
        y = tf.tidy(() => op(family, w, t));
      });
      const out = y as unknown as TF.Tensor;
      const g = out.dataToGPU();
      const enc = h.device.createCommandEncoder({ label: 'tfjs-webgpu result' });
      const bytes = io.outputs[0]!.shape.reduce((a, b) => a * b, 1) * 4;
      enc.copyBufferToBuffer(g.buffer!, 0, outs[io.outputs[0]!.name]!, 0, Math.ceil(bytes / 4) * 4);
      h.device.queue.submit([enc.finish()]);
      await settle(h, h.device.queue.onSubmittedWorkDone(), 'tfjs-webgpu', w.watchdog_ms);
      const wall = performance.now() - t0;
      g.tensorRef.dispose();
      out.dispose();
      for (const x of Object.values(t)) x.dispose();
      const kernel = typeof info.kernelMs === 'number' && info.kernelMs > 0 ? info.kernelMs : null;
      return kernel !== null ? { ms: kernel, clock: 'gpu-timestamp' } : { ms: wall, clock: 'host' };
    },
  };
}
